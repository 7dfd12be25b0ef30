import Foundation
import TensorCore

// What the network is trained to output, and which noise levels the training loss looks at.
// With x_t = α·x₀ + σ·ε (α² + σ² = 1, SNR = α²/σ²), the three common targets carry the same
// information and differ in how the loss weighs the noise levels, written as a weight on the
// x₀ error ‖x̂₀ − x₀‖²:
//     ε  (DDPM, DiT, U-ViT, DiMR):  ‖ε̂ − ε‖²  = SNR · ‖x̂₀ − x₀‖²
//     x₀:                           ‖x̂₀ − x₀‖²
//     v = α·ε − σ·x₀ (Salimans & Ho 2022): ‖v̂ − v‖² = (1 + SNR) · ‖x̂₀ − x₀‖²
// ε-prediction spends its loss on the nearly clean end, where the answer is almost the input;
// the samples' shapes are decided at the noisy end, which that weighting almost ignores.

/// The network's output: ε, x₀ or v.
public enum Prediction: String, Codable, CaseIterable, Sendable {
    case epsilon, data, velocity
}

/// How training draws the timestep of each image.
public enum TimeSampling: Codable, Equatable, Sendable {
    /// uniformly over the N steps (DDPM)
    case uniform
    /// t/N = sigmoid(u), u ~ N(mean, std²): logit-normal, as in Stable Diffusion 3; std ≈ 1 favours mid noise
    case logitNormal(mean: Double, std: Double)

    /// One timestep index in 0..<steps.
    public func draw(_ rng: inout SplitMix64, steps: Int) -> Int {
        switch self {
        case .uniform: return rng.below(steps)
        case .logitNormal(let mean, let std):
            let u = mean + std * Double(rng.normal())
            return min(steps - 1, max(0, Int(Double(steps) / (1 + Foundation.exp(-u)))))
        }
    }
}

/// Per-image weight of the loss on top of the parameterisation's own.
public enum LossWeighting: Codable, Equatable, Sendable {
    case constant
    /// Min-SNR-γ (Hang et al. 2023): the weight on the x₀ error becomes min(SNR, γ), so the
    /// nearly clean end no longer dominates; expressed here for the chosen target.
    case minSNR(gamma: Double)

    /// The factor on the chosen target's squared error at signal-to-noise ratio `snr`.
    public func factor(snr: Double, prediction: Prediction) -> Double {
        switch self {
        case .constant: return 1
        case .minSNR(let gamma):
            let own: Double
            switch prediction {
            case .epsilon: own = snr
            case .data: own = 1
            case .velocity: own = 1 + snr
            }
            return min(snr, gamma) / own
        }
    }
}

extension Prediction {
    /// The training target for one image: ε, x₀ or α·ε − σ·x₀, written into `out`.
    public func target(data x0: UnsafePointer<Float>, noise: UnsafePointer<Float>, alpha: Float, sigma: Float,
                       count: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .epsilon: out.update(from: noise, count: count)
        case .data: out.update(from: x0, count: count)
        case .velocity: for i in 0..<count { out[i] = alpha * noise[i] - sigma * x0[i] }
        }
    }

    /// ε̂ implied by the network's output at x_t (in place over `output`).
    public func toEpsilon(_ output: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, alpha: Float, sigma: Float, count: Int) {
        switch self {
        case .epsilon: return
        case .data: for i in 0..<count { output[i] = (x[i] - alpha * output[i]) / sigma }
        case .velocity: for i in 0..<count { output[i] = alpha * output[i] + sigma * x[i] }
        }
    }
}

/// The target at a coarser prediction's resolution (DiMR's multi-scale loss): for ε the sum of
/// each r×r block divided by r, so it stays unit-variance noise (`multi_scale_targets` in the
/// official code); for x₀ the block mean, i.e. the image downsampled; for v the same mix of the two.
///     full: (B, C, H, W) → (B, C, size, size)
public func multiScaleTarget(data x0: Tensor, noise: Tensor, alphas: [Float], sigmas: [Float], size: Int,
                             prediction: Prediction) -> Tensor {
    let r = noise.shape[2] / size
    func blockMean(_ t: Tensor) -> Tensor { avgPool2d(t, kernel: (r, r), stride: (r, r), countIncludePad: true) }
    func noiseTarget() -> Tensor {   // block sum / r = block mean · r
        let e = blockMean(noise)
        for i in 0..<e.count { e.data[i] *= Float(r) }
        return e
    }
    switch prediction {
    case .epsilon: return noiseTarget()
    case .data: return blockMean(x0)
    case .velocity:
        let e = noiseTarget(), d = blockMean(x0)
        let per = e.count / max(e.shape[0], 1)
        for i in 0..<e.shape[0] { for j in 0..<per { e.data[i * per + j] = alphas[i] * e.data[i * per + j] - sigmas[i] * d.data[i * per + j] } }
        return e
    }
}
