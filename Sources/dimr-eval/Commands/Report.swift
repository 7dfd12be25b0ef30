import ArgumentParser
import Eval
import Foundation
import TensorIO

/// `dimr-eval report RUN_DIR… -o report.html`: one self-contained page from training runs.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Self-contained HTML report of training runs.",
        discussion: """
        Reads each run folder's metrics.jsonl, step log, PNG sample grids (names with "worst" are shown as \
        most-distorted grids) and distortion.json, plus a `distortion compare --save-json` file, and writes \
        one HTML page with inline SVG charts and embedded images — no network access needed to view it.
        """)

    @Argument(help: "Run folders written by `dimr-eval train`.") var runs: [String]
    @Option(name: .shortAndLong, help: "The HTML file to write.") var output: String = "report.html"
    @Option(help: "A comparison from `distortion compare --save-json`.") var compare: String?
    @Option(help: "An extra PNG figure, TITLE=FILE (repeatable).") var image: [String] = []
    @Option(help: "Page title.") var title: String = "dimr-eval report"
    @Flag(help: "Print JSON (where the report went, what it contains).") var json = false

    struct Summary: Codable {
        var report: String
        var bytes: Int
        var runs: [String]
        var comparison: Bool
        var notes: [String]
    }

    func run() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
        let url = try checkedOutput(output)
        var inputs = try ReportInputs(runFolders: runs.map { URL(fileURLWithPath: $0) }, comparisonFile: compare.map { URL(fileURLWithPath: $0) })
        inputs.title = title
        for item in image {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--image takes TITLE=FILE, got '\(item)'") }
            inputs.extraImages.append((parts[0], URL(fileURLWithPath: parts[1])))
        }
        let bytes = try writeHTMLReport(inputs, to: url)
        let summary = Summary(report: url.standardizedFileURL.path, bytes: bytes, runs: inputs.runs.map(\.label),
                              comparison: inputs.comparison != nil, notes: inputs.runs.flatMap { r in r.notes.map { "\(r.label): \($0)" } })
        if json { print(try jsonText(summary, style: .document)); return }
        Self.printSummary(report: url, bytes: bytes, runs: summary.runs.count)
    }

    /// The line `report` prints (the demo prints its page's the same way).
    static func printSummary(report url: URL, bytes: Int, runs: Int) {
        print("report: \(url.standardizedFileURL.path) (\(bytes / 1024) KB, \(runs) run\(runs == 1 ? "" : "s"))")
    }
}
