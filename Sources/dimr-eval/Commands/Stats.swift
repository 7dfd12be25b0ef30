import ArgumentParser
import Eval
import Foundation
import TensorIO

/// `dimr-eval stats INPUT -o OUT.npz`: ADM-format statistics, accumulated in float64 while streaming.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Feature statistics (mu, sigma, mu_s, sigma_s) in ADM format, or pytorch-fid's.",
        discussion: """
        Writes mu, sigma (pool3) and mu_s, sigma_s (spatial) as float64, covariance with N−1, plus
        count and the float64 sums (sum, sum_s) so that `dimr-eval merge` can combine shards exactly,
        and meta (resize mode, weights and their SHA-1). ADM's evaluator reads mu/sigma/mu_s/sigma_s,
        pytorch-fid mu/sigma; both ignore the other keys. --layout pytorch-fid writes mu and sigma only,
        the layout of pytorch-fid's --save-stats (which then cannot record how it was made).
        INPUT: an ADM batch .npz, a .npy, a folder of images, or a features file.
        """)

    @Argument(help: "Images or a features file.") var input: String
    @Option(name: .shortAndLong, help: "Output .npz.") var output: String
    @Option(help: "Keys written: adm (mu, sigma, mu_s, sigma_s, count, sums, meta) or pytorch-fid (mu, sigma only).")
    var layout: StatisticsFile.Layout = .adm
    @OptionGroup var inception: InceptionOptions
    @Flag(help: "Print a JSON summary.") var json = false

    struct Summary: Encodable {
        var output: String
        var layout: String
        var count: Int?
        var dimension: Int
        var spatialDimension: Int?
        /// What the file records about its preprocessing (null for the pytorch-fid layout or unknown inputs).
        var preprocessing: Preprocessing?
        var notes: [String]
        var cache: FeatureCacheUse?
    }

    func run() throws {
        let out = try checkedOutput(output, inputs: [input])
        let source = try EvalInput(URL(fileURLWithPath: input))
        let provider = try inception.provider()
        try EvalInput.prepare([source], provider, needsNetwork: { $0.needsNetworkForStatistics }, check: { try $0.checkStatisticsPossible() })
        let stats = try source.statistics(provider)
        try stats.write(to: out, layout: layout)
        var notes: [String] = []
        if layout == .pytorchFID {
            let mode = stats.preprocessing?.resize.map { "--resize \($0)" } ?? "unknown"
            notes.append("the pytorch-fid layout holds mu and sigma only: the preprocessing (\(mode)) is not recorded in \(output)"
                         + (stats.preprocessing?.resize == "pytorch" ? "" : "; pytorch-fid itself preprocesses as --resize pytorch"))
        } else if stats.preprocessing == nil {
            notes.append("\(source.url.lastPathComponent) records no preprocessing, so neither does \(output)")
        }
        let summary = Summary(output: output, layout: layout.rawValue, count: stats.pool.count, dimension: stats.pool.dimension,
                              spatialDimension: layout == .adm ? stats.spatial?.dimension : nil,
                              preprocessing: layout == .adm ? stats.preprocessing : nil, notes: notes, cache: source.cacheUse)
        if json { print(try jsonText(summary, style: .document)); return }
        print("wrote \(output): \(summary.count.map { "\($0) images, " } ?? "")mu/sigma \(summary.dimension)-d"
              + (summary.spatialDimension.map { ", mu_s/sigma_s \($0)-d" } ?? "")
              + (summary.preprocessing?.resize.map { " (--resize \($0))" } ?? ""))
        for note in notes { print("note: \(note)") }
    }
}

extension StatisticsFile.Layout: ExpressibleByArgument {}
