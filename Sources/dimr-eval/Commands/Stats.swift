import ArgumentParser
import Eval
import Foundation

/// `dimr-eval stats INPUT -o OUT.npz`: ADM-format statistics, accumulated in float64 while streaming.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Feature statistics (mu, sigma, mu_s, sigma_s) in ADM format.",
        discussion: """
        Writes mu, sigma (pool3) and mu_s, sigma_s (spatial) as float64, covariance with N−1, plus
        count and the float64 sums (sum, sum_s) so that `dimr-eval merge` can combine shards exactly.
        INPUT: an ADM batch .npz, a .npy, a folder of images, or a features file.
        """)

    @Argument(help: "Images or a features file.") var input: String
    @Option(name: .shortAndLong, help: "Output .npz.") var output: String
    @OptionGroup var inception: InceptionOptions
    @Flag(help: "Print a JSON summary.") var json = false

    struct Summary: Encodable { var output: String; var count: Int?; var dimension: Int; var spatialDimension: Int? }

    func run() throws {
        let out = try checkedOutput(output, inputs: [input])
        let source = try EvalInput(URL(fileURLWithPath: input))
        let provider = inception.provider()
        try prepare([source], provider, needsNetwork: { $0.needsNetworkForStatistics }, check: { try $0.checkStatisticsPossible() })
        let stats = try source.statistics(provider)
        try stats.write(to: out)
        let summary = Summary(output: output, count: stats.pool.count, dimension: stats.pool.dimension,
                              spatialDimension: stats.spatial?.dimension)
        if json { print(try jsonString(summary)); return }
        print("wrote \(output): \(summary.count.map { "\($0) images, " } ?? "")mu/sigma \(summary.dimension)-d"
              + (summary.spatialDimension.map { ", mu_s/sigma_s \($0)-d" } ?? ""))
    }
}
