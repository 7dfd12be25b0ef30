import Foundation
import TensorCore

// DiMR — "Alleviating Distortion in Image Generation via Multi-Resolution Diffusion Models"
// (Liu et al., 2024). Read top to bottom like the paper's Figure 2:
//
//   noisy image ──┬─ branch 0: patchify (coarse) → Transformer blocks with a class token and
//                 │            U-ViT long skips → head → ε at 1/r resolution
//                 │            └ every block's output, concatenated → TD-LN → linear → pixel shuffle → TD-LN ┐
//                 ├─ branch 1: patchify (finer) + the upsampled features ─────────────────────────────────┘
//                 │            → ConvNeXt blocks (depthwise 7×7 + GLU MLP) with long skips → head → ε
//                 └─ (3R: a third, finest ConvNeXt branch fed the same way)
//
// Time enters only through the norms: Time-Dependent RMSNorm in every block, Time-Dependent
// LayerNorm around the up-sampling and before each head (TimeDependentLayerNorm.swift).
// Layout inside a branch is channels-last, (B, h, w, D) — as in the official code — and the
// depthwise convolution switches to NCHW around itself.

/// Configuration of a DiMR model (presets at the end of this file).
public struct DiMRConfig: Codable, Equatable, Sendable {
    public enum BlockKind: String, Codable, Sendable { case transformer, convnext }

    /// The norm inside the blocks. The official configs use `timeDependentRMS` ("TDRMSN");
    /// `layerNorm` (time-independent) is there for ablations.
    public enum BlockNormKind: String, Codable, Sendable { case timeDependentRMS, timeDependentLayerNorm, layerNorm }

    public struct Branch: Codable, Equatable, Sendable {
        public var kind: BlockKind
        public var dim: Int
        /// width of the GLU MLP's hidden layer
        public var hiddenDim: Int
        public var heads: Int
        /// the official `num_blocks`: the branch has blocks/2 down, one middle and blocks/2 up blocks
        public var blocks: Int
        /// patchify stride: the branch works at imageSize / patch ("input_feature_ratio")
        public var patch: Int
        public var kernelSize: Int = 7
        public var finalKernelSize: Int = 3
    }

    public var branches: [Branch]
    public var blockNorm: BlockNormKind = .timeDependentRMS
    /// weight of each branch's term in the multi-scale loss, coarsest first (official 2R: [1/4, 1])
    public var lossWeights: [Float]
}

final class DiMR: DenoisingModel {
    let config: ModelConfig
    let parameters: ParameterStore
    private let branches: [DiMRBranch]

    init(_ config: ModelConfig, store: ParameterStore) {
        self.config = config
        parameters = store
        let m = config.dimr!
        var built: [DiMRBranch] = []
        for (i, b) in m.branches.enumerated() {
            let previous = i > 0 ? m.branches[i - 1] : nil
            built.append(DiMRBranch(store, "stages.\(i)", b, model: config, blockNorm: m.blockNorm, lowres: previous))
        }
        branches = built
    }

    /// x: (B, C, H, W) → one ε prediction per branch, (B, C, H/patch_i, W/patch_i), coarsest first.
    func predict(_ x: Variable, times: [Float], labels: [Int], tape: Tape) -> [Variable] {
        let t = timeCondition(times)
        var outputs: [Variable] = []
        var lowres: Variable? = nil
        for branch in branches {
            let (prediction, features) = branch(x, lowres: lowres, labels: labels, t, tape)
            outputs.append(prediction)
            // Features passed up: the concatenation of the branch input and every block's output.
            lowres = tape.concat(features, axis: -1)
        }
        return outputs
    }
}

/// One resolution branch ("Stage" in the official code).
private struct DiMRBranch {
    let kind: DiMRConfig.BlockKind
    let size: Int                         // h = w of the branch's grid
    let stem: PatchEmbedding
    let positions: Variable               // (h·w, D), learned
    let classToken: Variable?             // (numClasses + 1, D), Transformer branches only
    let upsample: FeatureUpsampler?
    let blocks: [DiMRBlock]
    let skipDenses: [Dense]               // U-ViT-style long skips: Linear(2D → D) on [x | skip]
    let headNorm: TimeDependentLayerNorm
    let headWeight: Variable, headBias: Variable
    let finalKernel: Int

    init(_ s: ParameterStore, _ name: String, _ b: DiMRConfig.Branch, model: ModelConfig,
         blockNorm: DiMRConfig.BlockNormKind, lowres: DiMRConfig.Branch?) {
        kind = b.kind
        size = model.imageSize / b.patch
        stem = PatchEmbedding(s, "\(name).input_layer.conv", channels: model.channels, dim: b.dim, patch: b.patch)
        positions = s.make("\(name).position_embeddings", [size * size, b.dim],
                           learnedPositionInit(model.positionInit, extraTokens: 0, grid: size, dim: b.dim), decays: false)
        classToken = b.kind == .transformer
            ? s.make("\(name).class_embeds", [model.numClasses + 1, b.dim], .truncatedNormal(std: 0.02), decays: false) : nil
        if let low = lowres {
            let lowSize = model.imageSize / low.patch
            upsample = FeatureUpsampler(s, "\(name).upsample", from: low.dim * (low.blocks / 2 * 2 + 2), to: b.dim,
                                        ratio: size / lowSize)
        } else {
            upsample = nil
        }
        blocks = (0..<(b.blocks / 2 * 2 + 1)).map { DiMRBlock(s, "\(name).blocks.\($0)", b, norm: blockNorm) }
        skipDenses = (0..<(b.blocks / 2)).map { Dense(s, "\(name).skip_denses.\($0)", 2 * b.dim, b.dim) }
        headNorm = TimeDependentLayerNorm(s, "\(name).output_layer.norm", b.dim)
        let fanIn = b.dim * b.finalKernelSize * b.finalKernelSize
        headWeight = s.make("\(name).output_layer.conv.weight", [model.channels, b.dim, b.finalKernelSize, b.finalKernelSize],
                            .torchDefault(fanIn: fanIn), decays: true)
        headBias = s.make("\(name).output_layer.conv.bias", [model.channels], .torchDefault(fanIn: fanIn), decays: false)
        finalKernel = b.finalKernelSize
    }

    /// → (ε prediction (B, C, h, w), features (B, h, w, D) each: the input and every block's output)
    func callAsFunction(_ images: Variable, lowres: Variable?, labels: [Int], _ t: [Float], _ tape: Tape)
        -> (Variable, [Variable]) {
        let batch = images.shape[0], dim = positions.shape[1]
        // 1. Patchify this branch's view of the image; add position embeddings.
        var x = tape.addBroadcast(stem(images, tape), positions)                 // (B, h, w, D)
        // 2. Add the coarser branch's features, brought up to this resolution.
        if let upsample, let lowres { x = tape.add(x, upsample(lowres, t, tape)) }
        // 3. Transformer branches see a sequence, with the class embedding as an extra first token.
        x = tape.reshape(x, [batch, size * size, dim])
        if let classToken {
            let token = tape.reshape(tape.embedding(classToken, indices: labels), [batch, 1, dim])
            x = tape.concat([token, x], axis: 1)
        }
        // 4. Blocks, U-ViT style: the first half's outputs are joined back into the second half.
        var features = [x], skips: [Variable] = []
        let half = blocks.count / 2
        for block in blocks[..<half] {
            x = block(x, grid: size, t, tape)
            features.append(x); skips.append(x)
        }
        x = blocks[half](x, grid: size, t, tape)
        features.append(x)
        for (dense, block) in zip(skipDenses, blocks[(half + 1)...]) {
            x = dense(tape.concat([x, skips.removeLast()], axis: -1), tape)
            x = block(x, grid: size, t, tape)
            features.append(x)
        }
        // 5. Drop the class token; back to a grid.
        let tokens = size * size
        func grid(_ v: Variable) -> Variable {
            let v = classToken == nil ? v : tape.slice(v, axis: 1, 1..<(tokens + 1))
            return tape.reshape(v, [batch, size, size, dim])
        }
        x = grid(x)
        features = features.map(grid)
        // 6. Prediction head: TD-LN, then a 3×3 conv to image channels.
        let y = tape.permute(headNorm(x, t, tape), [0, 3, 1, 2])                  // (B, D, h, w)
        let eps = tape.conv2d(y, weight: headWeight, bias: headBias, padding: finalKernel / 2)
        return (eps, features)
    }
}

/// Coarse features → this branch's grid: TD-LN → Linear(D_low → D·r²) → pixel shuffle ×r → TD-LN.
/// (B, h/r, w/r, D_low) → (B, h, w, D)
private struct FeatureUpsampler {
    let inputNorm: TimeDependentLayerNorm
    let projection: Dense
    let outputNorm: TimeDependentLayerNorm
    let ratio: Int

    init(_ s: ParameterStore, _ name: String, from low: Int, to dim: Int, ratio: Int) {
        inputNorm = TimeDependentLayerNorm(s, "\(name).0", low)
        projection = Dense(s, "\(name).1.kernel", low, dim * ratio * ratio)
        outputNorm = TimeDependentLayerNorm(s, "\(name).2", dim)
        self.ratio = ratio
    }

    func callAsFunction(_ low: Variable, _ t: [Float], _ tape: Tape) -> Variable {
        let y = projection(inputNorm(low, t, tape), tape)                        // (B, h', w', D·r²)
        let shuffled = tape.pixelShuffle(tape.permute(y, [0, 3, 1, 2]), factor: ratio) // (B, D, h, w)
        return outputNorm(tape.permute(shuffled, [0, 2, 3, 1]), t, tape)
    }
}

/// The norm inside a block, as configured.
private struct BlockNorm {
    let rms: TimeDependentRMSNorm?
    let tdLayerNorm: TimeDependentLayerNorm?
    let layerNorm: AffineLayerNorm?

    init(_ s: ParameterStore, _ name: String, _ dim: Int, _ kind: DiMRConfig.BlockNormKind) {
        rms = kind == .timeDependentRMS ? TimeDependentRMSNorm(s, name, dim) : nil
        tdLayerNorm = kind == .timeDependentLayerNorm ? TimeDependentLayerNorm(s, name, dim) : nil
        layerNorm = kind == .layerNorm ? AffineLayerNorm(s, name, dim) : nil
    }

    func callAsFunction(_ x: Variable, _ t: [Float], _ tape: Tape) -> Variable {
        if let rms { return rms(x, t, tape) }
        if let tdLayerNorm { return tdLayerNorm(x, t, tape) }
        return layerNorm!(x, tape)
    }
}

/// Norm → [GELU(W₀x) ⊙ W₁x] → W₂. W₀ and W₁ are stored as one (2H, D) matrix so one GEMM computes both.
private struct GatedMLP {
    let norm: BlockNorm
    let w01: Dense, w2: Dense

    init(_ s: ParameterStore, _ name: String, _ b: DiMRConfig.Branch, _ kind: DiMRConfig.BlockNormKind) {
        norm = BlockNorm(s, "\(name).norm", b.dim, kind)
        w01 = Dense(s, "\(name).w01", b.dim, 2 * b.hiddenDim)
        w2 = Dense(s, "\(name).w2", b.hiddenDim, b.dim)
    }

    func callAsFunction(_ x: Variable, _ t: [Float], _ tape: Tape) -> Variable {
        w2(tape.gatedGELU(w01(norm(x, t, tape), tape)), tape)
    }
}

/// A Transformer block (x + Attention(Norm x); x + MLP) or a ConvNeXt block
/// (x + DepthwiseConv7×7(x); x + MLP), both with the gated MLP.
private struct DiMRBlock {
    let kind: DiMRConfig.BlockKind
    let attentionNorm: BlockNorm?
    let attention: SelfAttention?
    let depthwiseWeight: Variable?, depthwiseBias: Variable?
    let mlp: GatedMLP

    init(_ s: ParameterStore, _ name: String, _ b: DiMRConfig.Branch, norm: DiMRConfig.BlockNormKind) {
        kind = b.kind
        if b.kind == .transformer {
            attentionNorm = BlockNorm(s, "\(name).block1.norm", b.dim, norm)
            attention = SelfAttention(s, "\(name).block1", dim: b.dim, heads: b.heads, qkvBias: false, projName: "dense")
            depthwiseWeight = nil; depthwiseBias = nil
        } else {
            attentionNorm = nil; attention = nil
            let fanIn = b.kernelSize * b.kernelSize
            depthwiseWeight = s.make("\(name).block1.conv.weight", [b.dim, 1, b.kernelSize, b.kernelSize], .torchDefault(fanIn: fanIn), decays: true)
            depthwiseBias = s.make("\(name).block1.conv.bias", [b.dim], .torchDefault(fanIn: fanIn), decays: false)
        }
        mlp = GatedMLP(s, "\(name).block2", b, norm)
    }

    /// x: (B, T, D) tokens (T = grid² [+1 class token]) → same shape
    func callAsFunction(_ x: Variable, grid: Int, _ t: [Float], _ tape: Tape) -> Variable {
        var x = x
        if let attention, let attentionNorm {
            x = tape.add(x, attention(attentionNorm(x, t, tape), tape))
        } else {
            let b = x.shape[0], d = x.shape[2]
            let image = tape.reshape(x, [b, grid, grid, d])                                // (B, h, w, D)
            let mixed = tape.depthwiseConv2dChannelsLast(image, weight: depthwiseWeight!, bias: depthwiseBias)
            x = tape.add(x, tape.reshape(mixed, [b, grid * grid, d]))
        }
        return tape.add(x, mlp(x, t, tape))
    }
}

// MARK: - Presets (32×32 RGB unless a caller says otherwise)

extension DiMRConfig {
    static func transformer(dim: Int, heads: Int, blocks: Int, patch: Int) -> Branch {
        Branch(kind: .transformer, dim: dim, hiddenDim: 2 * dim, heads: heads, blocks: blocks, patch: patch)
    }
    static func convnext(dim: Int, blocks: Int, patch: Int) -> Branch {
        Branch(kind: .convnext, dim: dim, hiddenDim: 2 * dim, heads: 1, blocks: blocks, patch: patch)
    }

    public static let presets: [String: DiMRConfig] = [
        // 2R: Transformer on 8×8 patches of 4, ConvNeXt at full resolution. Trains in minutes on 2 cores.
        "tiny": DiMRConfig(branches: [transformer(dim: 128, heads: 4, blocks: 4, patch: 4), convnext(dim: 32, blocks: 2, patch: 1)],
                           lossWeights: [0.25, 1]),
        // 3R: Transformer at 8×8, ConvNeXt at 16×16 and 32×32.
        "tiny-3R": DiMRConfig(branches: [transformer(dim: 128, heads: 4, blocks: 4, patch: 4), convnext(dim: 64, blocks: 2, patch: 2),
                                         convnext(dim: 32, blocks: 2, patch: 1)],
                              lossWeights: [0.0625, 0.25, 1]),
        "small": DiMRConfig(branches: [transformer(dim: 256, heads: 8, blocks: 8, patch: 2), convnext(dim: 64, blocks: 4, patch: 1)],
                            lossWeights: [0.25, 1]),
        "small-3R": DiMRConfig(branches: [transformer(dim: 256, heads: 8, blocks: 8, patch: 4), convnext(dim: 128, blocks: 4, patch: 2),
                                          convnext(dim: 64, blocks: 4, patch: 1)],
                               lossWeights: [0.0625, 0.25, 1]),
        // The official DiMR-XL/2R (configs/DiMR-XL-2R_imagenet256.py) on 32×32×4 latents.
        "XL-2R": DiMRConfig(branches: [Branch(kind: .transformer, dim: 960, hiddenDim: 1920, heads: 16, blocks: 39, patch: 2),
                                       Branch(kind: .convnext, dim: 480, hiddenDim: 960, heads: 1, blocks: 20, patch: 1)],
                            lossWeights: [0.25, 1]),
    ]
}
