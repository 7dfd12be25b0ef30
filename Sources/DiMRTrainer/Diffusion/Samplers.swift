import Foundation
import TensorCore

/// The reverse-process solvers.
public enum SamplerKind: String, Codable, CaseIterable, Sendable {
    /// ancestral sampling with the posterior variance β̃ (Ho et al. 2020), respaced to S steps
    case ddpm
    /// deterministic DDIM, η = 0 (Song et al. 2021)
    case ddim
    /// multistep DPM-Solver++ in data prediction (Lu et al. 2022), order 2 or 3
    case dpmSolver = "dpm-solver"
}

/// Classifier-free guidance: ε = ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)). w = 1 is plain conditional sampling.
public struct Guidance: Codable, Equatable, Sendable {
    public var scale: Float
    /// DiMR's decaying schedule: w(τ) = 1 + (scale − 1)·(1 − cos(π·(1 − τ/1000)^power))/2, i.e. no
    /// guidance at the noisy start, full guidance at the end; nil keeps w constant.
    public var cosinePower: Float?

    public init(scale: Float = 1, cosinePower: Float? = nil) { self.scale = scale; self.cosinePower = cosinePower }

    public func scale(atModelTime tau: Float) -> Float {
        guard let p = cosinePower else { return scale }
        let step = (1 - cosf(powf(max(0, 1 - tau / 1000), p) * Float.pi)) / 2
        return (scale - 1) * step + 1
    }
}

public struct SamplingOptions: Codable, Equatable, Sendable {
    public var sampler: SamplerKind = .dpmSolver
    public var steps: Int = 25
    /// DPM-Solver's order (2 or 3)
    public var order: Int = 3
    public var guidance = Guidance()
    /// clip the predicted x₀ to [−1, 1] in DDPM/DDIM (pixel-space models, as ADM does)
    public var clipDenoised = true

    public init(sampler: SamplerKind = .dpmSolver, steps: Int = 25, order: Int = 3, guidance: Guidance = Guidance()) {
        self.sampler = sampler; self.steps = steps; self.order = order; self.guidance = guidance
    }
}

/// Draws samples for `labels` (one image per label) starting from each sample's own noise stream
/// (seed, index), so a sample does not depend on the batch it was drawn in.
///
/// → (B, C, H, W), nominally in [−1, 1]
public func generateSamples(model: DenoisingModel, schedule: NoiseSchedule, labels: [Int], firstIndex: Int = 0,
                            seed: UInt64, options: SamplingOptions) -> Tensor {
    let c = model.config
    let b = labels.count, per = c.channels * c.imageSize * c.imageSize
    var rngs = (0..<b).map { SplitMix64(seed: seed, stream: "sample \(firstIndex + $0)") }
    let x = Tensor(uninitialized: [b, c.channels, c.imageSize, c.imageSize])
    for i in 0..<b { rngs[i].fillNormal(x.data + i * per, count: per) }
    let eps = { (x: Tensor, tau: Float, alpha: Float, sigma: Float) in
        guidedNoisePrediction(model, x, tau: tau, alpha: alpha, sigma: sigma, labels: labels, guidance: options.guidance)
    }
    switch options.sampler {
    case .ddpm, .ddim:
        return discreteSampler(x, schedule: schedule, options: options, rngs: &rngs, eps: eps)
    case .dpmSolver:
        return dpmSolverPlusPlus(x, schedule: schedule, steps: options.steps, order: options.order,
                                 clipDenoised: options.clipDenoised, eps: eps)
    }
}

/// ε̂ for a batch at one model time (x = α·x₀ + σ·ε), with classifier-free guidance when w ≠ 1
/// (conditional and unconditional halves run as one batch of 2B). Uses the finest prediction of
/// multi-branch models; an x₀- or v-predicting model's output is turned into the ε it implies
/// (an affine map of the output, so guiding before or after it is the same).
func guidedNoisePrediction(_ model: DenoisingModel, _ x: Tensor, tau: Float, alpha: Float, sigma: Float, labels: [Int],
                           guidance: Guidance) -> Tensor {
    let tape = Tape(recording: false)
    let w = guidance.scale(atModelTime: tau)
    let b = labels.count
    let out: Tensor
    if w == 1 {
        out = model.predict(Variable(x), times: [Float](repeating: tau, count: b), labels: labels, tape: tape).last!.value
    } else {
        let both = concat([x, x], axis: 0)
        let null = [Int](repeating: model.config.numClasses, count: b)
        let e = model.predict(Variable(both), times: [Float](repeating: tau, count: 2 * b), labels: labels + null, tape: tape).last!.value
        let half = e.count / 2
        out = Tensor(uninitialized: x.shape)
        for i in 0..<half { out.data[i] = e.data[half + i] + w * (e.data[i] - e.data[half + i]) }
    }
    model.config.target.toEpsilon(out.data, x: x.data, alpha: alpha, sigma: sigma, count: out.count)
    return out
}

/// DDPM (ancestral) and DDIM (η = 0) on S evenly spaced timesteps of the N-step chain.
private func discreteSampler(_ xT: Tensor, schedule: NoiseSchedule, options: SamplingOptions, rngs: inout [SplitMix64],
                             eps: (Tensor, Float, Float, Float) -> Tensor) -> Tensor {
    let n = schedule.steps, s = max(1, min(options.steps, n))
    let timesteps = (0..<s).map { s == 1 ? n - 1 : Int((Double($0) * Double(n - 1) / Double(s - 1)).rounded()) }
    var x = xT
    let per = x.count / x.shape[0]
    for k in stride(from: s - 1, through: 0, by: -1) {
        let step = timesteps[k]
        let aT = schedule.alphasCumprod[step], aPrev = k > 0 ? schedule.alphasCumprod[timesteps[k - 1]] : 1
        let e = eps(x, Float(step), Float(aT.squareRoot()), Float((1 - aT).squareRoot()))
        let next = Tensor(uninitialized: x.shape)
        let beta = 1 - aT / aPrev
        let variance = beta * (1 - aPrev) / (1 - aT)
        for i in 0..<x.count {
            var x0 = (Double(x.data[i]) - (1 - aT).squareRoot() * Double(e.data[i])) / aT.squareRoot()
            if options.clipDenoised { x0 = min(1, max(-1, x0)) }
            switch options.sampler {
            case .ddpm:
                let mean = aPrev.squareRoot() * beta / (1 - aT) * x0 + (1 - beta).squareRoot() * (1 - aPrev) / (1 - aT) * Double(x.data[i])
                next.data[i] = Float(mean)
            default:
                // DDIM: the ε implied by the (clipped) x₀, re-noised to the previous level
                let epsHat = (Double(x.data[i]) - aT.squareRoot() * x0) / (1 - aT).squareRoot()
                next.data[i] = Float(aPrev.squareRoot() * x0 + (1 - aPrev).squareRoot() * epsHat)
            }
        }
        if options.sampler == .ddpm && k > 0 {
            let sd = Float(variance.squareRoot())
            for b in 0..<rngs.count { for j in 0..<per { next.data[b * per + j] += sd * rngs[b].normal() } }
        }
        x = next
    }
    return x
}

/// Multistep DPM-Solver++ (data prediction) from t = 1 to t = 1/N on a uniform time grid, with
/// lower orders for the first steps (not enough history yet) and, below 15 steps, the last ones
/// (which DPM-Solver found more stable). With `clipDenoised` each x₀ prediction is clipped to
/// [−1, 1] (DPM-Solver's thresholding for pixel-space models): at t ≈ 1, x₀ = (x − σε)/α divides
/// by α ≈ 0.006, and an unclipped error in ε there is carried, ×160, through the multistep history.
private func dpmSolverPlusPlus(_ xT: Tensor, schedule: NoiseSchedule, steps: Int, order: Int, clipDenoised: Bool,
                               eps: (Tensor, Float, Float, Float) -> Tensor) -> Tensor {
    let tEnd = 1 / Double(schedule.steps)
    let ts = (0...steps).map { 1 - Double($0) * (1 - tEnd) / Double(steps) }
    let order = max(1, min(order, 3))
    var x = xT
    func dataPrediction(_ x: Tensor, _ t: Double) -> Tensor {
        let a = Float(Foundation.exp(schedule.logAlpha(t))), s = Float(schedule.sigma(t))
        let e = eps(x, schedule.modelTime(t), a, s)
        let x0 = Tensor(uninitialized: x.shape)
        for i in 0..<x.count {
            let v = (x.data[i] - s * e.data[i]) / a
            x0.data[i] = clipDenoised ? min(1, max(-1, v)) : v
        }
        return x0
    }
    var history: [(x0: Tensor, lambda: Double)] = [(dataPrediction(x, ts[0]), schedule.lambda(ts[0]))]
    for i in 1...steps {
        let s = ts[i - 1], t = ts[i]
        var k = min(order, i)
        if steps < 15 { k = min(k, steps - i + 1) }
        let lt = schedule.lambda(t), h = lt - history.last!.lambda
        let ratio = Float(schedule.sigma(t) / schedule.sigma(s))
        let alphaT = Foundation.exp(schedule.logAlpha(t))
        let phi1 = Foundation.expm1(-h)
        let m0 = history[history.count - 1].x0
        let next = Tensor(uninitialized: x.shape)
        switch k {
        case 1:
            let c0 = Float(-alphaT * phi1)
            for j in 0..<x.count { next.data[j] = ratio * x.data[j] + c0 * m0.data[j] }
        case 2:
            let m1 = history[history.count - 2]
            let r0 = (history.last!.lambda - m1.lambda) / h
            let c0 = Float(-alphaT * phi1), c1 = Float(-0.5 * alphaT * phi1 / r0)
            for j in 0..<x.count {
                next.data[j] = ratio * x.data[j] + c0 * m0.data[j] + c1 * (m0.data[j] - m1.x0.data[j])
            }
        default:
            let m1 = history[history.count - 2], m2 = history[history.count - 3]
            let r0 = (history.last!.lambda - m1.lambda) / h, r1 = (m1.lambda - m2.lambda) / h
            let phi2 = phi1 / h + 1, phi3 = phi2 / h - 0.5
            for j in 0..<x.count {
                let d10 = (Double(m0.data[j]) - Double(m1.x0.data[j])) / r0
                let d11 = (Double(m1.x0.data[j]) - Double(m2.x0.data[j])) / r1
                let d1 = d10 + r0 / (r0 + r1) * (d10 - d11)
                let d2 = (d10 - d11) / (r0 + r1)
                next.data[j] = Float(Double(ratio) * Double(x.data[j]) - alphaT * phi1 * Double(m0.data[j])
                                     + alphaT * phi2 * d1 - alphaT * phi3 * d2)
            }
        }
        x = next
        if i < steps {
            history.append((dataPrediction(x, t), lt))
            if history.count > 3 { history.removeFirst() }
        }
    }
    return x
}
