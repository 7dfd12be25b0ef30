import DiMRTrainer
import Eval
import Foundation
import TensorIO

/// What to draw from a trained checkpoint (`dimr-eval sample`, the demo's final samples).
public struct SamplingRequest {
    /// A run folder (its latest.json) or a checkpoint .json/.safetensors.
    public var checkpoint: URL
    public var count: Int
    public var options: SamplingOptions
    /// The class of every image; nil: cycle through the classes (the class count itself: unconditional).
    public var label: Int?
    /// Seed of the initial noise (each sample its own stream, so the batch size does not matter).
    public var seed: UInt64 = 0
    /// Images per model call.
    public var batchSize = 64
    /// Sample with the EMA weights (false: the raw ones).
    public var useEMA = true
    /// The ADM batch written: arr_0 uint8 NHWC, arr_1 the labels.
    public var output: URL
    /// Also a PNG grid of the samples.
    public var grid: URL?

    public init(checkpoint: URL, count: Int, options: SamplingOptions, output: URL) {
        self.checkpoint = checkpoint; self.count = count; self.options = options; self.output = output
    }
}

/// What `sampleCheckpoint` drew: from which checkpoint, and how long it took.
public struct SampledBatch {
    public var count: Int
    public var state: CheckpointState
    public var seconds: Double
}

/// Draws `request.count` images from the checkpoint into an ADM batch (and grid), with a progress
/// bar on a terminal. A label the model has no class for is refused (`OptionRefusal`).
public func sampleCheckpoint(_ request: SamplingRequest) throws -> SampledBatch {
    let (model, state) = try Checkpoint.loadModel(request.checkpoint, useEMA: request.useEMA)
    let classes = model.config.numClasses
    if let label = request.label, label < 0 || label > classes {
        throw OptionRefusal("--label must be in 0...\(classes) (\(classes) = unconditional), got \(label)")
    }
    let schedule = NoiseSchedule(state.training.schedule)
    let count = request.count
    let labels = (0..<count).map { request.label ?? ($0 % classes) }
    let progress = Progress(total: count, label: "sampling")
    let start = Date()
    var images: [RGBImage] = []
    for first in stride(from: 0, to: count, by: request.batchSize) {
        let batch = Array(labels[first..<min(count, first + request.batchSize)])
        images += toImages(generateSamples(model: model, schedule: schedule, labels: batch, firstIndex: first, seed: request.seed,
                                           options: request.options))
        progress.advance(by: batch.count)
    }
    progress.finish()
    try writeADMBatch(images, labels: labels, to: request.output)
    if let grid = request.grid { try writeAtomically(try encodePNG(squareImageGrid(images)), to: grid) }
    return SampledBatch(count: count, state: state, seconds: Date().timeIntervalSince(start))
}
