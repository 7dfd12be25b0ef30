import Foundation
import TensorCore

/// The three architectures this package trains.
public enum Architecture: String, Codable, CaseIterable, Sendable {
    case dimr, dit, uvit
}

/// A noise-prediction network ε_θ(x_t, t, y).
public protocol DenoisingModel: AnyObject {
    var config: ModelConfig { get }
    var parameters: ParameterStore { get }

    /// x: (B, C, H, W) noisy images; times: B continuous timestep indices in [0, 999];
    /// labels: B classes in 0...numClasses, where numClasses means "no class" (classifier-free guidance).
    /// → predictions of `config.target` (ε, x₀ or v), coarsest first, finest (full resolution)
    /// last; one per branch for DiMR.
    func predict(_ x: Variable, times: [Float], labels: [Int], tape: Tape) -> [Variable]
}

/// Everything needed to rebuild a model (saved in every checkpoint).
public struct ModelConfig: Codable, Equatable, Sendable {
    public var architecture: Architecture
    public var preset: String
    public var imageSize: Int
    public var channels: Int
    public var numClasses: Int
    public var dimr: DiMRConfig?
    public var dit: DiTConfig?
    public var uvit: UViTConfig?
    /// what the network outputs (nil in checkpoints made before the choice existed: ε)
    public var prediction: Prediction?

    public var target: Prediction { prediction ?? .epsilon }

    /// How U-ViT's and DiMR's learned position tables start (nil in checkpoints made before the
    /// choice existed: the papers' N(0, 0.02)). DiT's positions are fixed sin-cos either way.
    public var positionInit: PositionInit?

    /// Weight of each prediction's term in the loss, coarsest first (one 1 for single-output models).
    public var lossWeights: [Float] { dimr?.lossWeights ?? [1] }
}

/// The starting values of a learned position table. The parameter is trained the same either
/// way; only where it starts differs (fixtures/trainer/RUNLOG.md, "U-ViT against the official code").
public enum PositionInit: String, Codable, CaseIterable, Sendable {
    /// truncated N(0, 0.02), as in U-ViT's and DiMR's code
    case normal
    /// DiT's fixed 2-D sin-cos table (extra tokens at zero), as MAE starts its learned table
    case sinCos = "sincos"
}

public enum ModelError: Error, CustomStringConvertible {
    case unknownPreset(Architecture, String, available: [String])
    case badConfig(String)
    public var description: String {
        switch self {
        case .unknownPreset(let a, let p, let available):
            return "no preset '\(p)' for \(a.rawValue); available: \(available.joined(separator: ", "))"
        case .badConfig(let m): return m
        }
    }
}

/// A model's preset configuration by name (`tiny`, `small`, … — the lists are at the end of each model file).
public func modelConfig(_ architecture: Architecture, preset: String, imageSize: Int = 32, channels: Int = 3,
                        numClasses: Int = 10) throws -> ModelConfig {
    var c = ModelConfig(architecture: architecture, preset: preset, imageSize: imageSize, channels: channels, numClasses: numClasses)
    switch architecture {
    case .dimr:
        guard let p = DiMRConfig.presets[preset] else { throw ModelError.unknownPreset(architecture, preset, available: DiMRConfig.presets.keys.sorted()) }
        c.dimr = p
    case .dit:
        guard let p = DiTConfig.presets[preset] else { throw ModelError.unknownPreset(architecture, preset, available: DiTConfig.presets.keys.sorted()) }
        c.dit = p
    case .uvit:
        guard let p = UViTConfig.presets[preset] else { throw ModelError.unknownPreset(architecture, preset, available: UViTConfig.presets.keys.sorted()) }
        c.uvit = p
    }
    try validate(c)
    return c
}

func validate(_ c: ModelConfig) throws {
    func patchFits(_ p: Int, _ what: String) throws {
        if p < 1 || c.imageSize % p != 0 {
            throw ModelError.badConfig("\(what): patch size \(p) does not divide the image size \(c.imageSize)")
        }
    }
    if let d = c.dit { try patchFits(d.patch, "DiT") }
    if let u = c.uvit { try patchFits(u.patch, "U-ViT") }
    if let m = c.dimr {
        if m.lossWeights.count != m.branches.count {
            throw ModelError.badConfig("DiMR: \(m.branches.count) branches but \(m.lossWeights.count) loss weights")
        }
        for (i, b) in m.branches.enumerated() { try patchFits(b.patch, "DiMR branch \(i)") }
    }
}

/// Builds the model a config describes, parameters initialised from `seed`.
public func makeModel(_ config: ModelConfig, seed: UInt64) throws -> DenoisingModel {
    try validate(config)
    return build(config, ParameterStore(seed: seed))
}

/// A second instance of `model` that computes with the same parameter values (shared storage:
/// an update of one is seen by both) but collects its own gradients, so that two halves of a
/// batch can run forward and backward on two cores at once (see `Trainer`).
public func makeReplica(of model: DenoisingModel) -> DenoisingModel {
    build(model.config, ParameterStore(sharingValuesOf: model.parameters))
}

private func build(_ config: ModelConfig, _ store: ParameterStore) -> DenoisingModel {
    switch config.architecture {
    case .dimr: return DiMR(config, store: store)
    case .dit: return DiT(config, store: store)
    case .uvit: return UViT(config, store: store)
    }
}
