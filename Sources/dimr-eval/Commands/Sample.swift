import ArgumentParser
import DiMRTrainer
import Foundation
import Pipeline
import TensorIO

/// `dimr-eval sample DIR`: draws images from a checkpoint's EMA weights into an ADM batch.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Sample from a trained checkpoint into an ADM batch.")

    @Argument(help: "Run folder (uses latest.json) or a checkpoint .json/.safetensors.") var checkpoint: String
    @Option(parsing: .unconditional, help: "Number of images.") var count = 100
    @Option(help: "Sampler: ddpm, ddim or dpm-solver. Default: dpm-solver.", transform: SamplerKind.parse) var sampler = SamplerKind.dpmSolver
    @Option(parsing: .unconditional, help: "Sampler steps.") var steps = 25
    @Option(parsing: .unconditional, help: "DPM-Solver order (2 or 3).") var order = 3
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale w (1: none).") var cfg: Float = 1
    @Option(parsing: .unconditional, help: "DiMR's cosine CFG schedule with this power (omit for constant guidance).") var cfgPower: Float?
    @Option(parsing: .unconditional, help: "Class of every image (default: cycle through the classes).") var label: Int?
    @Option(parsing: .unconditional, help: "Seed of the initial noise.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Images per model call.") var batchSize = 64
    @Flag(help: "Use the raw weights instead of the EMA.") var noEma = false
    @Option(name: .shortAndLong, help: "Output .npz (arr_0 uint8 NHWC, arr_1 labels).") var output: String
    @Option(help: "Also write a PNG grid of the samples.") var grid: String?
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        try requirePositive(count, "--count")
        try requirePositive(steps, "--steps")
        try require(order == 2 || order == 3, "--order", "2 or 3", order)
        try requireFinite(cfg, "--cfg")
        if let cfgPower { try requireFinite(cfgPower, "--cfg-power") }
        try requirePositive(batchSize, "--batch-size")
    }

    func run() throws {
        let outputURL = try checkedOutput(output, inputs: [checkpoint])
        let gridURL = try grid.map { try checkedOutput($0, option: "--grid", inputs: [checkpoint, output]) }
        var request = SamplingRequest(checkpoint: URL(fileURLWithPath: checkpoint), count: count,
                                      options: SamplingOptions(sampler: sampler, steps: steps, order: order, guidance: Guidance(scale: cfg, cosinePower: cfgPower)),
                                      output: outputURL)
        request.label = label; request.seed = seed; request.batchSize = batchSize; request.useEMA = !noEma; request.grid = gridURL
        let sampled = try refusingOptions { try sampleCheckpoint(request) }
        if json {
            let summary: [String: JSONValue] = ["output": .string(output), "count": .number(Double(count)), "step": .number(Double(sampled.state.step)),
                                                "sampler": .string(sampler.rawValue), "steps": .number(Double(steps)),
                                                "cfg": .number(Double(cfg)), "seconds": .number(sampled.seconds)]
            print(try jsonText(summary, style: .line))
        } else {
            Self.printSummary(sampled, output: output)
        }
    }

    /// The line `sample` prints (the demo prints each model's the same way).
    static func printSummary(_ sampled: SampledBatch, output: String) {
        let state = sampled.state
        print("\(sampled.count) samples from \(state.model.architecture.rawValue) \(state.model.preset) at step \(state.step) → \(output) (\(String(format: "%.1f", sampled.seconds)) s)")
    }
}
