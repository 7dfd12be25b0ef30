import Foundation
import TensorCore

// DiT — "Scalable Diffusion Models with Transformers" (Peebles & Xie, 2023), Figure 3:
//
//   noisy image → patchify (p×p) + fixed 2-D sin-cos positions → N × DiT block → final layer → unpatchify → ε
//   timestep → sinusoid → MLP ┐
//   class    → embedding  ────┴→ c (B, D)  conditions every block through adaLN-Zero
//
// adaLN-Zero: each block regresses shift/scale/gate for its attention and MLP from c with one
// Linear(D → 6D); the final layer regresses shift/scale with Linear(D → 2D).

public struct DiTConfig: Codable, Equatable, Sendable {
    public var patch: Int
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Int = 4
}

final class DiT: DenoisingModel {
    let config: ModelConfig
    let parameters: ParameterStore
    private let c: DiTConfig
    private let patchEmbed: PatchEmbedding
    private let positions: Tensor                  // (T, D), fixed, not trained
    private let timeMLP: (Dense, Dense)
    private let labelTable: Variable               // (numClasses + 1, D); the last row is "no class"
    private let blocks: [DiTBlock]
    private let finalModulation: Dense
    private let finalLinear: Dense

    static let frequencyDim = 256

    init(_ config: ModelConfig, store: ParameterStore) {
        self.config = config
        let s = store
        parameters = s
        let c = config.dit!
        self.c = c
        let grid = config.imageSize / c.patch
        // Initialisation as in DiT's `initialize_weights`: Xavier-uniform linears (the patch conv
        // as a flattened linear), N(0, 0.02) for the label table and the timestep MLP.
        patchEmbed = PatchEmbedding(s, "x_embedder.proj", channels: config.channels, dim: c.dim, patch: c.patch,
                                    weightInit: .xavierUniform(fanIn: config.channels * c.patch * c.patch, fanOut: c.dim))
        positions = sinusoidalPositions2D(dim: c.dim, height: grid, width: grid)
        timeMLP = (Dense(s, "t_embedder.mlp.0", DiT.frequencyDim, c.dim, weightInit: .normal(std: 0.02)),
                   Dense(s, "t_embedder.mlp.2", c.dim, c.dim, weightInit: .normal(std: 0.02)))
        labelTable = s.make("y_embedder.embedding_table", [config.numClasses + 1, c.dim], .normal(std: 0.02), decays: false)
        blocks = (0..<c.depth).map { DiTBlock(s, "blocks.\($0)", c) }
        // Zero-initialised, so that at step 0 the model outputs ε̂ = 0 and every block is the
        // identity (gates are 0): the network starts as a well-behaved shallow function and
        // grows depth as the gates learn — "adaLN-Zero", the variant DiT found trains best.
        finalModulation = Dense(s, "final_layer.adaLN_modulation.1", c.dim, 2 * c.dim, weightInit: .zeros)
        finalLinear = Dense(s, "final_layer.linear", c.dim, c.patch * c.patch * config.channels, weightInit: .zeros)
    }

    func predict(_ x: Variable, times: [Float], labels: [Int], tape: Tape) -> [Variable] {
        let b = x.shape[0], grid = config.imageSize / c.patch, d = c.dim
        // Tokens: patches plus fixed positions.
        var h = tape.reshape(patchEmbed(x, tape), [b, grid * grid, d])
        h = tape.addBroadcast(h, Variable(positions))
        // Conditioning c = MLP(sinusoid(t)) + embed(y); every adaLN reads SiLU(c).
        let t = Variable(timestepEmbedding(times, dim: DiT.frequencyDim))
        let tEmb = timeMLP.1(tape.silu(timeMLP.0(t, tape)), tape)
        let cond = tape.silu(tape.add(tEmb, tape.embedding(labelTable, indices: labels)))   // (B, D)
        for block in blocks { h = block(h, cond, tape) }
        // Final layer: adaLN modulate (no gate), then a linear to p·p·C per token.
        let mod = finalModulation(cond, tape)
        let shift = tape.slice(mod, axis: 1, 0..<d), scale = tape.slice(mod, axis: 1, d..<(2 * d))
        h = tape.layerNorm(h, gamma: tape.affine(scale, scale: 1, shift: 1), beta: shift, eps: 1e-6)
        h = finalLinear(h, tape)
        return [unpatchify(h, height: grid, width: grid, patch: c.patch, channels: config.channels, tape)]
    }
}

/// x + gate₁·Attention(modulate(LN x, shift₁, scale₁)); then the same with the MLP.
private struct DiTBlock {
    let attention: SelfAttention
    let fc1: Dense, fc2: Dense
    let modulation: Dense
    let dim: Int

    init(_ s: ParameterStore, _ name: String, _ c: DiTConfig) {
        dim = c.dim
        attention = SelfAttention(s, "\(name).attn", dim: c.dim, heads: c.heads, qkvBias: true,
                                  weightInit: { .xavierUniform(fanIn: $0, fanOut: $1) })
        fc1 = Dense(s, "\(name).mlp.fc1", c.dim, c.mlpRatio * c.dim, weightInit: .xavierUniform(fanIn: c.dim, fanOut: c.mlpRatio * c.dim))
        fc2 = Dense(s, "\(name).mlp.fc2", c.mlpRatio * c.dim, c.dim, weightInit: .xavierUniform(fanIn: c.mlpRatio * c.dim, fanOut: c.dim))
        // adaLN-Zero: zero so each block starts as the identity (see DiT.init).
        modulation = Dense(s, "\(name).adaLN_modulation.1", c.dim, 6 * c.dim, weightInit: .zeros)
    }

    /// x: (B, T, D), cond: SiLU(c) (B, D)
    func callAsFunction(_ x: Variable, _ cond: Variable, _ tape: Tape) -> Variable {
        let mod = modulation(cond, tape)                                 // (B, 6D)
        let part = { (i: Int) in tape.slice(mod, axis: 1, (i * self.dim)..<((i + 1) * self.dim)) }
        let (shiftA, scaleA, gateA, shiftM, scaleM, gateM) = (part(0), part(1), part(2), part(3), part(4), part(5))
        // modulate(LN(x), shift, scale) = LN(x)·(1 + scale) + shift: a LayerNorm with per-sample gain and shift
        let a = tape.layerNorm(x, gamma: tape.affine(scaleA, scale: 1, shift: 1), beta: shiftA, eps: 1e-6)
        var x = tape.add(x, tape.scaleGroups(attention(a, tape), gateA))
        let m = tape.layerNorm(x, gamma: tape.affine(scaleM, scale: 1, shift: 1), beta: shiftM, eps: 1e-6)
        let mlp = fc2(tape.gelu(fc1(m, tape), kind: .tanh), tape)
        x = tape.add(x, tape.scaleGroups(mlp, gateM))
        return x
    }
}

// MARK: - Presets

extension DiTConfig {
    public static let presets: [String: DiTConfig] = [
        "tiny": DiTConfig(patch: 4, dim: 128, depth: 4, heads: 4),
        // The tiny size at other patch sizes: the distortion rate's dose-response (VALIDATION.md)
        // needs models that differ only in how coarse their patch grid is.
        "tiny-p8": DiTConfig(patch: 8, dim: 128, depth: 4, heads: 4),
        "tiny-p2": DiTConfig(patch: 2, dim: 128, depth: 4, heads: 4),
        "small": DiTConfig(patch: 2, dim: 256, depth: 8, heads: 4),
        // The paper's sizes (Table 1), for parameter counts.
        "S-2": DiTConfig(patch: 2, dim: 384, depth: 12, heads: 6),
        "B-2": DiTConfig(patch: 2, dim: 768, depth: 12, heads: 12),
        "XL-2": DiTConfig(patch: 2, dim: 1152, depth: 28, heads: 16),
    ]
}
