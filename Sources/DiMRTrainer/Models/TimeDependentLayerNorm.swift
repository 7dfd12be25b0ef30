import Foundation
import TensorCore

// Time-Dependent LayerNorm (TD-LN), DiMR §3.3: instead of regressing a norm's gain and shift
// from the timestep with an MLP (adaLN: a D×6D linear per block), interpolate between two
// learned vectors:
//     γ(t) = γ₁ + s(t)·(γ₀ − γ₁),   s(t) = sigmoid(w·t + b)   (likewise β)
// with t = log-SNR/4 of the training schedule's index (−1 at the start of the chain, +1 at the
// end). w and b are per channel as in the official code, where they are stored as 0-initialised
// offsets (`nodecay_weight` + 1, `nodecay_bias`) and kept out of weight decay.
// So a time-dependent vector costs 4 numbers per channel: γ₀, γ₁, w, b.

/// DiMR's time condition for (continuous) timestep indices τ ∈ [0, 999]: the official code feeds
/// log_snr = 8·n/1000 − 4 with n = τ + 1 and divides by 4.
public func timeCondition(_ times: [Float]) -> [Float] { times.map { 2 * ($0 + 1) / 1000 - 1 } }

/// One time-dependent vector: (C) parameters → (B, C) values for the batch's times.
public struct TimeDependentParameter {
    public let value0: Variable, value1: Variable, weight: Variable, bias: Variable

    public init(_ store: ParameterStore, _ name: String, _ dim: Int, initial: Initializer) {
        value0 = store.make("\(name).param0", [dim], initial, decays: false)
        value1 = store.make("\(name).param1", [dim], initial, decays: false)
        weight = store.make("\(name).nodecay_weight", [dim], .zeros, decays: false)
        bias = store.make("\(name).nodecay_bias", [dim], .zeros, decays: false)
    }

    /// conditions: B values of `timeCondition` → (B, C)
    public func callAsFunction(_ conditions: [Float], _ tape: Tape) -> Variable {
        tape.timeDependent(value0, value1, weight, bias, conditions: conditions)
    }
}

/// LayerNorm whose γ and β follow the time (8 numbers per channel). x: (B, …, C)
public struct TimeDependentLayerNorm {
    public let gamma: TimeDependentParameter, beta: TimeDependentParameter
    public let eps: Float

    public init(_ store: ParameterStore, _ name: String, _ dim: Int, eps: Float = 1e-5) {
        gamma = TimeDependentParameter(store, "\(name).weight", dim, initial: .ones)
        beta = TimeDependentParameter(store, "\(name).bias", dim, initial: .zeros)
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable, _ conditions: [Float], _ tape: Tape) -> Variable {
        tape.layerNorm(x, gamma: gamma(conditions, tape), beta: beta(conditions, tape), eps: eps)
    }
}

/// The RMS variant the official configs use in every block (`norm_type = "TDRMSN"`): a
/// time-dependent gain only, 4 numbers per channel. x: (B, …, C)
public struct TimeDependentRMSNorm {
    public let scale: TimeDependentParameter
    public let eps: Float

    public init(_ store: ParameterStore, _ name: String, _ dim: Int, eps: Float = 1e-8) {
        scale = TimeDependentParameter(store, "\(name).scale", dim, initial: .ones)
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable, _ conditions: [Float], _ tape: Tape) -> Variable {
        tape.rmsNorm(x, gamma: scale(conditions, tape), eps: eps)
    }
}

extension Tape {
    /// out[b, c] = p1[c] + s·(p0[c] − p1[c]), s = sigmoid((1 + w[c])·t_b + bias[c]).  → (B, C)
    public func timeDependent(_ p0: Variable, _ p1: Variable, _ w: Variable, _ bias: Variable,
                              conditions t: [Float]) -> Variable {
        let c = p0.value.count, n = t.count
        let out = Tensor(uninitialized: [n, c])
        let s = Tensor(uninitialized: [n, c])  // the sigmoids, kept for backward
        for b in 0..<n {
            for j in 0..<c {
                let sig = 1 / (1 + expf(-((1 + w.value.data[j]) * t[b] + bias.value.data[j])))
                s.data[b * c + j] = sig
                out.data[b * c + j] = p1.value.data[j] + sig * (p0.value.data[j] - p1.value.data[j])
            }
        }
        return output(out, inputs: [p0, p1, w, bias]) { g in
            let d0 = Tensor(zeros: [c]), d1 = Tensor(zeros: [c]), dw = Tensor(zeros: [c]), db = Tensor(zeros: [c])
            for b in 0..<n {
                for j in 0..<c {
                    let gv = g.data[b * c + j], sig = s.data[b * c + j]
                    d0.data[j] += sig * gv
                    d1.data[j] += (1 - sig) * gv
                    let ga = (p0.value.data[j] - p1.value.data[j]) * gv * sig * (1 - sig)
                    dw.data[j] += ga * t[b]
                    db.data[j] += ga
                }
            }
            p0.accumulate(d0); p1.accumulate(d1); w.accumulate(dw); bias.accumulate(db)
        }
    }
}
