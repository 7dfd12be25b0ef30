import ArgumentParser
import DiMRTrainer
import Foundation
import TensorCore
import TensorIO

/// `dimr-eval sample`: draws images from a run folder's latest checkpoint (or a given checkpoint)
/// into an ADM batch (`arr_0` uint8 NHWC, `arr_1` int64 labels), streamed batch by batch.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Sample from a trained checkpoint into an ADM batch.")

    @Argument(help: "Run folder (its latest checkpoint) or a checkpoint .json/.safetensors.") var checkpoint: String
    @Option(help: "Images to draw; labels cycle through the classes.") var count: Int = 500
    @Option(help: "Sampler: ddpm, ddim or dpm-solver.") var sampler: String = SamplerKind.dpmSolver.rawValue
    @Option(help: "Sampling steps.") var steps: Int = 25
    @Option(help: "DPM-Solver order (2 or 3).") var order: Int = 3
    @Option(help: "Classifier-free guidance scale (1: plain conditional sampling).") var cfg: Float = 1
    @Option(help: "Seed: sample i's noise depends only on (seed, i).") var seed: UInt64 = 0
    @Option(help: "Images per model batch.") var batchSize: Int = 64
    @Flag(inversion: .prefixedNo, help: "Use the EMA weights (default) or the raw weights.") var ema = true
    @Option(name: .shortAndLong, help: "Output ADM batch (.npz).") var output: String
    @Option(help: "Also write a PNG grid of the first (up to 256) samples.") var grid: String?
    @Flag(help: "Print a JSON summary on stdout.") var json = false

    func validate() throws {
        guard SamplerKind(rawValue: sampler) != nil else {
            throw ValidationError("--sampler: expected one of \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")), found '\(sampler)'")
        }
        if count < 1 || steps < 1 || batchSize < 1 { throw ValidationError("--count, --steps and --batch-size must be ≥ 1") }
        if order != 2 && order != 3 { throw ValidationError("--order: expected 2 or 3, found \(order)") }
        if !(cfg.isFinite && cfg >= 0) { throw ValidationError("--cfg must be a finite number ≥ 0, found \(cfg)") }
    }

    func run() throws {
        let started = Date()
        let (model, state) = try Checkpoint.loadModel(URL(fileURLWithPath: checkpoint), useEMA: ema)
        let c = model.config
        let schedule = NoiseSchedule(state.training.schedule)
        let options = SamplingOptions(sampler: SamplerKind(rawValue: sampler)!, steps: steps, order: order, guidance: Guidance(scale: cfg))
        let labels = (0..<count).map { $0 % c.numClasses }

        let outURL = URL(fileURLWithPath: output)
        let writer = try NpzStreamWriter(url: outURL, dtype: .uint8, shape: [count, c.imageSize, c.imageSize, c.channels])
        let meter = Progress(total: count, label: "sampling")
        let gridLimit = 256
        var gridImages: [RGBImage] = []
        for start in stride(from: 0, to: count, by: batchSize) {
            let part = Array(labels[start..<min(count, start + batchSize)])
            let x = generateSamples(model: model, schedule: schedule, labels: part, firstIndex: start, seed: seed, options: options)
            let images = toImages(x)
            try writer.append(images: images)
            if grid != nil && gridImages.count < gridLimit { gridImages += images.prefix(gridLimit - gridImages.count) }
            meter.advance(by: images.count)
        }
        meter.finish()
        try writer.finish(extras: [("arr_1", NpyArray(int64: labels.map(Int64.init), shape: [count]))])
        if let grid { try writeAtomically(try encodePNG(imageGrid(gridImages)), to: URL(fileURLWithPath: grid)) }

        let seconds = Date().timeIntervalSince(started)
        let summary = SampleSummary(output: outURL.path, grid: grid, count: count, imageSize: c.imageSize,
                                    architecture: c.architecture.rawValue, preset: c.preset, step: state.step,
                                    weights: ema ? "ema" : "raw", sampler: sampler, steps: steps, cfg: cfg, seed: seed,
                                    seconds: seconds, imagesPerSecond: Double(count) / max(seconds, 1e-9))
        if json {
            print(try jsonString(summary))
        } else {
            print("\(count) samples from \(c.architecture.rawValue) \(c.preset) at step \(state.step) (\(summary.weights) weights, \(sampler) \(steps) steps, cfg \(cfg)) → \(outURL.path)"
                  + (grid.map { "; grid → \($0)" } ?? "") + String(format: " in %.1f s", seconds))
        }
    }
}

struct SampleSummary: Encodable {
    var output: String
    var grid: String?
    var count: Int
    var imageSize: Int
    var architecture: String
    var preset: String
    var step: Int
    var weights: String
    var sampler: String
    var steps: Int
    var cfg: Float
    var seed: UInt64
    var seconds: Double
    var imagesPerSecond: Double
}

/// Images (all the same size) tiled row by row on a square-ish grid with a 2-pixel white gutter.
func imageGrid(_ images: [RGBImage], gutter: Int = 2) -> RGBImage {
    guard let first = images.first else { return RGBImage(width: 1, height: 1, pixels: [255, 255, 255]) }
    let columns = Int(Double(images.count).squareRoot().rounded(.up))
    let rows = (images.count + columns - 1) / columns
    let w = first.width, h = first.height
    let width = columns * w + (columns + 1) * gutter, height = rows * h + (rows + 1) * gutter
    var pixels = [UInt8](repeating: 255, count: width * height * 3)
    for (i, image) in images.enumerated() {
        let x0 = gutter + (i % columns) * (w + gutter), y0 = gutter + (i / columns) * (h + gutter)
        for y in 0..<min(h, image.height) {
            let src = y * image.width * 3, dst = ((y0 + y) * width + x0) * 3
            let n = min(w, image.width) * 3
            pixels.replaceSubrange(dst..<(dst + n), with: image.pixels[src..<(src + n)])
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}
