import ArgumentParser
import Distortion
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
        var inputs = ReportInputs(runs: try runs.map { try Report.run(URL(fileURLWithPath: $0)) })
        inputs.title = title
        if let compare {
            let url = URL(fileURLWithPath: compare)
            guard let data = try? Data(contentsOf: url) else {
                throw FormatError(url, field: "comparison", expected: "a file from `distortion compare --save-json`", found: "no readable file")
            }
            do { inputs.comparison = try JSONDecoder().decode(DistortionComparison.self, from: data) } catch {
                throw FormatError(url, field: "comparison", expected: "the JSON of `distortion compare --save-json`", found: "\(error)")
            }
        }
        for item in image {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--image takes TITLE=FILE, got '\(item)'") }
            inputs.extraImages.append((parts[0], URL(fileURLWithPath: parts[1])))
        }
        let html = renderHTMLReport(inputs)
        try writeAtomically(Data(html.utf8), to: url)
        let summary = Summary(report: url.standardizedFileURL.path, bytes: html.utf8.count, runs: inputs.runs.map(\.label),
                              comparison: inputs.comparison != nil, notes: inputs.runs.flatMap { r in r.notes.map { "\(r.label): \($0)" } })
        if json { print(try jsonText(summary, style: .document)); return }
        print("report: \(summary.report) (\(summary.bytes / 1024) KB, \(summary.runs.count) run\(summary.runs.count == 1 ? "" : "s"))")
    }

    /// A run folder with something to show; an empty folder, or one that no `dimr-eval train`
    /// wrote, is refused (a page claiming "1 run" of nothing would be a wrong result).
    static func run(_ url: URL) throws -> RunDirectory {
        let run = try RunDirectory(url)
        let hasRun = FileManager.default.fileExists(atPath: url.appendingPathComponent("latest.json").path)
        guard hasRun || !run.evaluations.isEmpty || !run.lossCurve.isEmpty || !run.sampleGrids.isEmpty
                || !run.worstGrids.isEmpty || run.distortion != nil else {
            let empty = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).isEmpty
            throw FormatError(url, field: "run folder",
                              expected: "a folder written by `dimr-eval train` (latest.json, metrics.jsonl, train_log.jsonl, sample grids or distortion.json)",
                              found: empty ? "an empty folder" : "none of them")
        }
        return run
    }
}
