import Foundation
import TensorCore

// U-ViT — "All are Worth Words: A ViT Backbone for Diffusion Models" (Bao et al., 2023), Figure 1:
//
//   [time token | class token | patch tokens] + learned positions
//     → depth/2 blocks ─(long skips)─┐
//     → middle block                 │
//     → depth/2 blocks, each first joining its skip: Linear(concat[x, skip])
//     → LayerNorm → Linear → unpatchify → 3×3 conv → ε
//
// Time and class are plain tokens; there is no adaptive normalisation.

public struct UViTConfig: Codable, Equatable, Sendable {
    public var patch: Int
    public var dim: Int
    /// total blocks: depth/2 in, one middle, depth/2 out
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Int = 4
}

final class UViT: DenoisingModel {
    let config: ModelConfig
    let parameters: ParameterStore
    private let c: UViTConfig
    private let patchEmbed: PatchEmbedding
    private let labelTable: Variable       // (numClasses + 1, D)
    private let positions: Variable        // (2 + T, D)
    private let inBlocks: [UViTBlock], midBlock: UViTBlock, outBlocks: [UViTBlock]
    private let norm: AffineLayerNorm
    private let decoder: Dense
    private let finalWeight: Variable, finalBias: Variable

    init(_ config: ModelConfig, store: ParameterStore) {
        self.config = config
        let s = store
        parameters = s
        let c = config.uvit!
        self.c = c
        let grid = config.imageSize / c.patch
        patchEmbed = PatchEmbedding(s, "patch_embed.proj", channels: config.channels, dim: c.dim, patch: c.patch)
        labelTable = s.make("label_emb.weight", [config.numClasses + 1, c.dim], .normal(std: 1), decays: false)  // nn.Embedding's default
        positions = s.make("pos_embed", [2 + grid * grid, c.dim],
                           learnedPositionInit(config.positionInit, extraTokens: 2, grid: grid, dim: c.dim), decays: false)
        inBlocks = (0..<(c.depth / 2)).map { UViTBlock(s, "in_blocks.\($0)", c, skip: false) }
        midBlock = UViTBlock(s, "mid_block", c, skip: false)
        outBlocks = (0..<(c.depth / 2)).map { UViTBlock(s, "out_blocks.\($0)", c, skip: true) }
        norm = AffineLayerNorm(s, "norm", c.dim)
        decoder = Dense(s, "decoder_pred", c.dim, c.patch * c.patch * config.channels)
        finalWeight = s.make("final_layer.weight", [config.channels, config.channels, 3, 3], .torchDefault(fanIn: config.channels * 9), decays: true)
        finalBias = s.make("final_layer.bias", [config.channels], .torchDefault(fanIn: config.channels * 9), decays: false)
    }

    func predict(_ x: Variable, times: [Float], labels: [Int], tape: Tape) -> [Variable] {
        let b = x.shape[0], grid = config.imageSize / c.patch, d = c.dim
        let patches = tape.reshape(patchEmbed(x, tape), [b, grid * grid, d])
        let timeToken = Variable(timestepEmbedding(times, dim: d).reshaped([b, 1, d]))
        let labelToken = tape.reshape(tape.embedding(labelTable, indices: labels), [b, 1, d])
        var h = tape.addBroadcast(tape.concat([timeToken, labelToken, patches], axis: 1), positions)
        var skips: [Variable] = []
        for block in inBlocks { h = block(h, skip: nil, tape); skips.append(h) }
        h = midBlock(h, skip: nil, tape)
        for block in outBlocks { h = block(h, skip: skips.removeLast(), tape) }
        h = decoder(norm(h, tape), tape)
        h = tape.slice(h, axis: 1, 2..<(2 + grid * grid))                       // drop the two extra tokens
        let image = unpatchify(h, height: grid, width: grid, patch: c.patch, channels: config.channels, tape)
        return [tape.conv2d(image, weight: finalWeight, bias: finalBias, padding: 1)]
    }
}

/// [Linear(concat[x, skip]) →] x + Attention(LN x) → x + MLP(LN x)
private struct UViTBlock {
    let skipLinear: Dense?
    let norm1: AffineLayerNorm, norm2: AffineLayerNorm
    let attention: SelfAttention
    let fc1: Dense, fc2: Dense

    init(_ s: ParameterStore, _ name: String, _ c: UViTConfig, skip: Bool) {
        skipLinear = skip ? Dense(s, "\(name).skip_linear", 2 * c.dim, c.dim) : nil
        norm1 = AffineLayerNorm(s, "\(name).norm1", c.dim)
        attention = SelfAttention(s, "\(name).attn", dim: c.dim, heads: c.heads, qkvBias: false)
        norm2 = AffineLayerNorm(s, "\(name).norm2", c.dim)
        fc1 = Dense(s, "\(name).mlp.fc1", c.dim, c.mlpRatio * c.dim)
        fc2 = Dense(s, "\(name).mlp.fc2", c.mlpRatio * c.dim, c.dim)
    }

    func callAsFunction(_ x: Variable, skip: Variable?, _ tape: Tape) -> Variable {
        var x = x
        if let skipLinear, let skip { x = skipLinear(tape.concat([x, skip], axis: -1), tape) }
        x = tape.add(x, attention(norm1(x, tape), tape))
        return tape.add(x, fc2(tape.gelu(fc1(norm2(x, tape), tape)), tape))
    }
}

// MARK: - Presets

extension UViTConfig {
    public static let presets: [String: UViTConfig] = [
        "tiny": UViTConfig(patch: 4, dim: 128, depth: 5, heads: 4),
        "small": UViTConfig(patch: 2, dim: 256, depth: 9, heads: 4),
        // The paper's U-ViT-S/2 and U-ViT-L/2 (Table 1), for parameter counts.
        "S-2": UViTConfig(patch: 2, dim: 512, depth: 13, heads: 8),
        "L-2": UViTConfig(patch: 2, dim: 1024, depth: 21, heads: 16),
    ]
}
