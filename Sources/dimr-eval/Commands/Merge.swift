import ArgumentParser
import Eval
import Foundation
import TensorIO

/// `dimr-eval merge PARTS... -o OUT.npz`: shards of features, or partial statistics, into one file.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine shards of features or partial statistics exactly.",
        discussion: """
        Features files from `features --shard i/n` merge into one features file in image order.
        Statistics files (with count) — or a mix of statistics and features — merge into one
        statistics file from float64 sums and cross-products, so FID of the merge equals FID of one pass.
        """)

    @Argument(help: "Features or statistics files.") var parts: [String]
    @Option(name: .shortAndLong, help: "Output .npz.") var output: String
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        guard !parts.isEmpty else { throw ValidationError("give at least one part to merge") }
    }

    func run() throws {
        let out = try checkedOutput(output, inputs: parts)
        let summary = try ShardMerge.merge(parts.map { URL(fileURLWithPath: $0) }, to: out)
        if json { print(try jsonText(summary, style: .document)); return }
        print("wrote \(output): \(summary.output.rawValue) of \(summary.count) images from \(summary.parts) parts")
    }
}
