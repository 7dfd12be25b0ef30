import ArgumentParser
import DiMRTrainer
import Eval
import Foundation
import TensorIO

/// `dimr-eval shapes -o out.npz`: the embedded training data as an ADM batch, so other tools (a
/// PyTorch trainer, the reference metric implementations) can read exactly the images our
/// trainer and scorer use. `--held-out` gives the stream the checkpoint scorer and the demo
/// compare samples against (a different seed: images the trainer never sees).
struct Shapes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes", abstract: "Write the embedded procedural shapes as an ADM batch (arr_0 uint8 NHWC, arr_1 labels).")

    @Option(parsing: .unconditional, help: "Number of images.") var count = 256
    @Option(parsing: .unconditional, help: "First image of the stream (images first..<first+count).") var first = 0
    @Option(parsing: .unconditional, help: "Seed of the training stream (train's --seed).") var seed: UInt64 = 0
    @Flag(help: "The held-out stream the trainer's scorer and the demo use as reference, not the training stream.")
    var heldOut = false
    @Option(name: .shortAndLong, help: "Output .npz.") var output: String
    @Option(help: "Also write a PNG grid of the first 64 images.") var grid: String?
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        try requirePositive(count, "--count")
        try require(first >= 0, "--first", "0 or more", first)
    }

    func run() throws {
        let outputURL = try checkedOutput(output)
        let gridURL = try grid.map { try checkedOutput($0, option: "--grid", inputs: [output]) }
        let data = EmbeddedTrainingData(seed: seed)
        let stream = heldOut ? data.heldOut : data.shapes
        try stream.writeBatch(first..<(first + count), to: outputURL)
        if let gridURL {
            let images = (first..<(first + min(count, 64))).map { stream.image($0).image }
            try writeAtomically(try encodePNG(squareImageGrid(images)), to: gridURL)
        }
        let streamName = heldOut ? "held-out" : "training"
        if json {
            let summary: [String: JSONValue] = ["output": .string(output), "count": .number(Double(count)), "first": .number(Double(first)),
                                                "seed": .number(Double(seed)), "stream": .string(streamName)]
            print(try jsonText(summary, style: .line))
        } else {
            print("\(count) embedded shapes (\(streamName) stream, seed \(seed), images \(first)..<\(first + count)) → \(output)")
        }
    }
}
