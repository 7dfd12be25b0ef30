import Foundation
import TensorCore

// Building blocks shared by DiMR, DiT and U-ViT. Each stores its parameters in the model's
// ParameterStore under the reference implementation's names.

/// A fully connected layer, x·Wᵀ + b, weight (out, in).
public struct Dense {
    public let weight: Variable
    public let bias: Variable?

    public init(_ store: ParameterStore, _ name: String, _ input: Int, _ output: Int, bias: Bool = true,
                weightInit: Initializer = .truncatedNormal(std: 0.02), biasInit: Initializer = .zeros) {
        weight = store.make("\(name).weight", [output, input], weightInit, decays: true)
        self.bias = bias ? store.make("\(name).bias", [output], biasInit, decays: false) : nil
    }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        tape.linear(x, weight: weight, bias: bias)
    }
}

/// A LayerNorm with a learned gain and shift shared by all rows (torch's `nn.LayerNorm`).
public struct AffineLayerNorm {
    public let gamma: Variable, beta: Variable
    public let eps: Float

    public init(_ store: ParameterStore, _ name: String, _ dim: Int, eps: Float = 1e-5) {
        gamma = store.make("\(name).weight", [1, dim], .ones, decays: false)
        beta = store.make("\(name).bias", [1, dim], .zeros, decays: false)
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        tape.layerNorm(x, gamma: gamma, beta: beta, eps: eps)
    }
}

/// Multi-head self-attention: one fused q|k|v projection, attention, an output projection.
/// x: (B, T, D) → (B, T, D)
public struct SelfAttention {
    public let qkv: Dense, proj: Dense
    public let heads: Int

    public init(_ store: ParameterStore, _ name: String, dim: Int, heads: Int, qkvBias: Bool,
                weightInit: (Int, Int) -> Initializer = { _, _ in .truncatedNormal(std: 0.02) },
                projName: String = "proj") {
        qkv = Dense(store, "\(name).qkv", dim, 3 * dim, bias: qkvBias, weightInit: weightInit(dim, 3 * dim))
        proj = Dense(store, "\(name).\(projName)", dim, dim, weightInit: weightInit(dim, dim))
        self.heads = heads
    }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        proj(tape.attention(qkv(x, tape), heads: heads), tape)
    }
}

/// Cuts images into p×p patches and projects each to `dim` (a conv with kernel = stride = p).
/// images: (B, C, H, W) → tokens (B, H/p, W/p, dim)
public struct PatchEmbedding {
    public let weight: Variable, bias: Variable
    public let patch: Int

    public init(_ store: ParameterStore, _ name: String, channels: Int, dim: Int, patch: Int, weightInit: Initializer? = nil) {
        weight = store.make("\(name).weight", [dim, channels, patch, patch],
                            weightInit ?? .torchDefault(fanIn: channels * patch * patch), decays: true)
        bias = store.make("\(name).bias", [dim], weightInit == nil ? .torchDefault(fanIn: channels * patch * patch) : .zeros,
                          decays: false)
        self.patch = patch
    }

    public func callAsFunction(_ images: Variable, _ tape: Tape) -> Variable {
        let y = tape.conv2d(images, weight: weight, bias: bias, stride: patch)   // (B, dim, h, w)
        return tape.permute(y, [0, 2, 3, 1])                                    // (B, h, w, dim)
    }
}

/// The inverse of patchifying: tokens (B, h·w, p·p·C), each holding its patch as (p, p, C),
/// → images (B, C, h·p, w·p).
public func unpatchify(_ tokens: Variable, height h: Int, width w: Int, patch p: Int, channels c: Int, _ tape: Tape) -> Variable {
    let b = tokens.shape[0]
    let x = tape.reshape(tokens, [b, h, w, p, p, c])
    return tape.reshape(tape.permute(x, [0, 5, 1, 3, 2, 4]), [b, c, h * p, w * p])
}

/// Sinusoidal embedding of (continuous) timesteps, [cos(t·f_i) | sin(t·f_i)] with
/// f_i = 10000^(−i/half) — DiT's and U-ViT's `timestep_embedding`.
/// times: B values → (B, dim)
public func timestepEmbedding(_ times: [Float], dim: Int, maxPeriod: Double = 10000) -> Tensor {
    let half = dim / 2
    let e = Tensor(zeros: [times.count, dim])
    for (b, t) in times.enumerated() {
        for i in 0..<half {
            let f = Foundation.exp(-Foundation.log(maxPeriod) * Double(i) / Double(half))
            let a = Double(t) * f
            e.data[b * dim + i] = Float(Foundation.cos(a))
            e.data[b * dim + half + i] = Float(Foundation.sin(a))
        }
    }
    return e
}

/// The initialiser of a learned position table of `extraTokens` leading tokens (time, class)
/// and an h×w grid: the papers' truncated N(0, 0.02), or the 2-D sin-cos table with the extra
/// tokens' rows at zero.
func learnedPositionInit(_ choice: PositionInit?, extraTokens: Int, grid: Int, dim: Int) -> Initializer {
    switch choice ?? .normal {
    case .normal: return .truncatedNormal(std: 0.02)
    case .sinCos:
        let table = sinusoidalPositions2D(dim: dim, height: grid, width: grid)
        return .values([Float](repeating: 0, count: extraTokens * dim) + table.array)
    }
}

/// Fixed 2-D sine-cosine position embedding of an h×w grid (DiT's `get_2d_sincos_pos_embed`):
/// the first half of the channels encode the column, the second half the row. → (h·w, dim)
public func sinusoidalPositions2D(dim: Int, height h: Int, width w: Int) -> Tensor {
    let quarter = dim / 4
    let e = Tensor(zeros: [h * w, dim])
    for y in 0..<h {
        for x in 0..<w {
            let row = e.data + (y * w + x) * dim
            for (offset, position) in [(0, x), (dim / 2, y)] {
                for i in 0..<quarter {
                    let omega = 1 / Foundation.pow(10000, Double(i) / Double(quarter))
                    row[offset + i] = Float(Foundation.sin(Double(position) * omega))
                    row[offset + quarter + i] = Float(Foundation.cos(Double(position) * omega))
                }
            }
        }
    }
    return e
}
