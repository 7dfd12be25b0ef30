import Foundation
import TensorCore
import TensorIO

/// Everything besides tensors that a resumed run needs, stored as JSON next to the weights and
/// inside the safetensors metadata.
public struct CheckpointState: Codable, Sendable {
    public var format = "dimr-eval-checkpoint/1"
    public var model: ModelConfig
    public var training: TrainConfig
    /// optimisation steps completed
    public var step: Int
    /// images consumed from the training data (its stream position)
    public var dataPosition: Int
    /// the training RNG (timesteps, noise, label dropout) as it stands after `step` steps
    public var rng: SplitMix64
    public var optimizerStep: Int
    /// the safetensors file holding model.*, ema.*, adam.m.*, adam.v.* (relative to the run folder)
    public var weights: String
    public var parameterCount: Int
    public var lastLoss: Float?
}

/// Checkpoint files of one run folder:
///   DIR/checkpoints/step-00000500.safetensors   tensors
///   DIR/checkpoints/step-00000500.json          state
///   DIR/latest.json                             state of the newest checkpoint (written last, atomically)
public enum Checkpoint {
    public static func save(_ state: CheckpointState, model: DenoisingModel, ema: ExponentialMovingAverage, optimizer: AdamW,
                            to dir: URL, keep: Int = 3) throws {
        let folder = dir.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = optimizer.stateTensors()
        for p in model.parameters.all { tensors["model.\(p.name)"] = p.value }
        for (k, t) in ema.weights { tensors["ema.\(k)"] = t }
        let json = try encode(state)
        let weightsURL = dir.appendingPathComponent(state.weights)
        try writeSafetensors(tensors, metadata: ["dimr-eval": String(decoding: json, as: UTF8.self)], to: weightsURL)
        try writeAtomically(json, to: weightsURL.deletingPathExtension().appendingPathExtension("json"))
        try writeAtomically(json, to: dir.appendingPathComponent("latest.json"))
        // Drop old checkpoints beyond `keep` (never the one just written).
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let stems = Set(names.filter { $0.hasPrefix("step-") }.map { ($0 as NSString).deletingPathExtension }).sorted()
        for stem in stems.dropLast(max(keep, 1)) {
            for ext in ["safetensors", "json"] { try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(stem).\(ext)")) }
        }
    }

    public static func fileName(step: Int) -> String { String(format: "checkpoints/step-%08d.safetensors", step) }

    static func encode(_ state: CheckpointState) throws -> Data {
        try encodeJSON(state, style: .document, nonFinite: nonFiniteAsStrings)   // a diverged run's NaN loss
    }

    /// NaN and ±∞ as the strings "NaN", "Infinity", "-Infinity" (a diverged run's loss), for every
    /// JSON the trainer's callers write too (train's step log).
    public static let nonFiniteAsStrings = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    static func decode(_ data: Data) throws -> CheckpointState {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(CheckpointState.self, from: data)
    }

    /// Reads a run folder's latest.json, or a checkpoint's .json / .safetensors given directly.
    public static func loadState(_ url: URL) throws -> (state: CheckpointState, runFolder: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError(file: url.path, field: "checkpoint", expected: "a run folder with latest.json, or a checkpoint .json", found: "nothing there")
        }
        var jsonURL = url, runFolder = url
        if isDirectory.boolValue {
            jsonURL = url.appendingPathComponent("latest.json")
        } else {
            if url.pathExtension == "safetensors" { jsonURL = url.deletingPathExtension().appendingPathExtension("json") }
            runFolder = jsonURL.deletingLastPathComponent()
            if runFolder.lastPathComponent == "checkpoints" { runFolder = runFolder.deletingLastPathComponent() }
        }
        guard let data = FileManager.default.contents(atPath: jsonURL.path) else {
            throw CheckpointError(file: jsonURL.path, field: "file", expected: "a checkpoint state JSON (written by `dimr-eval train`)", found: "missing or unreadable")
        }
        do {
            let state = try decode(data)
            guard state.format == "dimr-eval-checkpoint/1" else {
                throw CheckpointError(file: jsonURL.path, field: "format", expected: "dimr-eval-checkpoint/1", found: state.format)
            }
            return (state, runFolder)
        } catch let e as CheckpointError { throw e } catch {
            throw CheckpointError(file: jsonURL.path, field: "JSON", expected: "a dimr-eval checkpoint state", found: "\(error)")
        }
    }

    /// The checkpoint's model with its EMA weights (what sampling uses) or its raw weights.
    public static func loadModel(_ url: URL, useEMA: Bool = true) throws -> (model: DenoisingModel, state: CheckpointState) {
        let (state, folder) = try loadState(url)
        let weightsURL = folder.appendingPathComponent(state.weights)
        let tensors = try readSafetensors(weightsURL)
        let model = try makeModel(state.model, seed: state.training.seed)
        try model.parameters.load(tensors, prefix: useEMA ? "ema." : "model.", source: weightsURL.path)
        return (model, state)
    }
}
