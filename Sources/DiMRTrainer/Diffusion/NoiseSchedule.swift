import Foundation

/// The discrete forward process q(x_n | x_0) = N(√ᾱ_n x_0, (1 − ᾱ_n) I), n = 0..<steps
/// (index n here is the papers' timestep n + 1).
public struct NoiseSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// β linear in n from 1e-4 to 0.02 (DDPM, ADM, DiT)
        case linear
        /// √β linear from √0.00085 to √0.012 (Stable Diffusion's schedule, used by the official
        /// DiMR and U-ViT latent configs)
        case scaledLinear
    }

    public let kind: Kind
    public let betas: [Double]
    /// ᾱ_n = Π_{i≤n} (1 − β_i)
    public let alphasCumprod: [Double]

    public init(_ kind: Kind, steps: Int = 1000) {
        self.kind = kind
        let n = steps
        func lin(_ a: Double, _ b: Double, _ i: Int) -> Double { n == 1 ? a : a + (b - a) * Double(i) / Double(n - 1) }
        switch kind {
        case .linear: betas = (0..<n).map { lin(1e-4 * 1000 / Double(n), 0.02 * 1000 / Double(n), $0) }
        case .scaledLinear: betas = (0..<n).map { let r = lin(0.00085.squareRoot(), 0.012.squareRoot(), $0); return r * r }
        }
        var prod = 1.0
        alphasCumprod = betas.map { prod *= 1 - $0; return prod }
    }

    public var steps: Int { betas.count }

    /// ᾱ_n / (1 − ᾱ_n)
    public func signalToNoise(_ n: Int) -> Double { alphasCumprod[n] / (1 - alphasCumprod[n]) }

    /// x_n = √ᾱ_n·x_0 + √(1−ᾱ_n)·ε, in place over one sample's values.
    public func addNoise(_ x0: UnsafeMutablePointer<Float>, noise: UnsafePointer<Float>, count: Int, step n: Int) {
        let a = Float(alphasCumprod[n].squareRoot()), s = Float((1 - alphasCumprod[n]).squareRoot())
        for i in 0..<count { x0[i] = a * x0[i] + s * noise[i] }
    }

    // Continuous-time view used by DPM-Solver (Lu et al. 2022, the "discrete" noise schedule):
    // t ∈ [1/N, 1], t_n = (n + 1)/N, log α_t linear between the grid points.

    /// log α_t = ½ log ᾱ at continuous time t.
    public func logAlpha(_ t: Double) -> Double {
        let x = t * Double(steps) - 1                       // fractional index
        let i = min(max(Int(x.rounded(.down)), 0), steps - 2)
        let f = x - Double(i)
        let a = 0.5 * Foundation.log(alphasCumprod[i]), b = 0.5 * Foundation.log(alphasCumprod[i + 1])
        return a + (b - a) * f
    }

    public func sigma(_ t: Double) -> Double { (1 - Foundation.exp(2 * logAlpha(t))).squareRoot() }

    /// λ_t = log(α_t/σ_t), half the log-SNR
    public func lambda(_ t: Double) -> Double { logAlpha(t) - 0.5 * Foundation.log(1 - Foundation.exp(2 * logAlpha(t))) }

    /// The model's timestep input for continuous time t: (t − 1/N)·N ∈ [0, N − 1].
    public func modelTime(_ t: Double) -> Float { Float((t - 1 / Double(steps)) * Double(steps)) }
}
