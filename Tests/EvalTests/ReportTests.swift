import Distortion
import Eval
import Foundation
import TensorIO
import TestSupport
import XCTest

/// The HTML report and its charts (Sources/Eval/Report).
final class ReportTests: XCTestCase {
    func makeRun(_ name: String, in root: URL, withImages: Bool) throws -> URL {
        let run = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let lines = [
            #"{"step": 100, "train_loss": 0.31, "fid": 120.5, "inception_score": 2.1, "precision": 0.4, "recall": 0.2, "distortion_rate": 0.6}"#,
            #"{"step": 200, "train_loss": 0.22, "fid": 80.25, "sfid": 30, "inception_score": 2.5, "precision": 0.5, "recall": 0.3, "distortion_rate": 0.45}"#,
            #"not json"#,
            #"{"step": 300, "train_loss": 0.2, "scores": "not computed"}"#,
        ]
        try lines.joined(separator: "\n").write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        try "step 10 loss 0.9\nstep 20 loss 0.5 lr 1e-4\nsomething else\n".write(to: run.appendingPathComponent("train.log"), atomically: true, encoding: .utf8)
        if withImages {
            let image = RGBImage(width: 8, height: 8, pixels: (0..<192).map { UInt8($0) })
            try Data(try encodePNG(image)).write(to: run.appendingPathComponent("samples_step200.png"))
            try Data(try encodePNG(image)).write(to: run.appendingPathComponent("worst.png"))
        }
        return run
    }

    func score(_ k: Int, _ n: Int) -> DistortionScore {
        DistortionScore(source: "x.npz", distortionRate: Double(k) / Double(n), ciLow: Double(k) / Double(n) - 0.03,
                        ciHigh: Double(k) / Double(n) + 0.03, confidence: 0.95, bootstrapResamples: 1000, threshold: 0.5,
                        falsePositiveRate: 0.05, count: n, flagged: k, meanProbability: 0.5, featureProvider: "f",
                        resizedFrom: [], imageSize: "32x32", notes: ["a <note> & more"])
    }

    /// `distortion score --heatmap RUN/heatmaps` output: the report finds the PNGs (name order,
    /// the worst first) and embeds each in the same row as the run's worst grid, captioned.
    func testHeatmapsBesideTheWorstGrid() throws {
        let root = try temporaryDirectory(self)
        let run = try makeRun("dit", in: root, withImages: true)
        let folder = run.appendingPathComponent("heatmaps")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let image = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 200, count: 48))
        for name in ["worst-02-sample-000007.png", "worst-01-sample-000003.png"] {
            try Data(try encodePNG(image)).write(to: folder.appendingPathComponent(name))
        }
        let runs = [try RunDirectory(run)]
        XCTAssertEqual(runs[0].heatmaps.map(\.lastPathComponent), ["worst-01-sample-000003.png", "worst-02-sample-000007.png"])
        let html = renderHTMLReport(ReportInputs(runs: runs))
        let worst = try XCTUnwrap(html.range(of: "most distorted samples"))
        let first = try XCTUnwrap(html.range(of: "patch-seam evidence, worst-01-sample-000003"))
        let second = try XCTUnwrap(html.range(of: "patch-seam evidence, worst-02-sample-000007"))
        XCTAssertTrue(worst.lowerBound < first.lowerBound && first.lowerBound < second.lowerBound)
        // Same row: no closing </div> between the worst grid and the heatmaps.
        XCTAssertFalse(html[worst.upperBound..<second.lowerBound].contains("</div>"))
    }

    /// Self-contained: no http:// or https:// anywhere, no script, no external src; the SVG
    /// charts, metrics table (ADM column order), embedded PNGs and the comparison are present;
    /// missing fields and unreadable lines become notes rather than errors.
    func testReportIsSelfContained() throws {
        let root = try temporaryDirectory(self)
        let runs = try [makeRun("dit", in: root, withImages: true), makeRun("dimr", in: root, withImages: false)]
            .map { try RunDirectory($0) }
        XCTAssertEqual(runs[0].lossCurve.map(\.y), [0.9, 0.5], "text step log")
        XCTAssertEqual(runs[0].finalEvaluation?["fid"], 80.25)
        XCTAssertEqual(runs[0].worstGrids.count, 1)
        var inputs = ReportInputs(runs: runs, comparison: DistortionComparison(labels: ["DiT", "DiMR"], scores: [score(71, 100), score(29, 100)]))
        inputs.title = "Test <report>"
        let html = renderHTMLReport(inputs)
        XCTAssertFalse(html.lowercased().contains("http://"))
        XCTAssertFalse(html.lowercased().contains("https://"))
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("src=\"/"), "no file references")
        XCTAssertTrue(html.contains("data:image/png;base64,"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 4, "loss, FID, distortion, comparison")
        XCTAssertTrue(html.contains("Test &lt;report&gt;"))
        XCTAssertTrue(html.contains("a &lt;note&gt; &amp; more"))
        // The column headers of the metrics table (the charts above it also say "FID").
        let header = ["Inception Score", "FID", "sFID", "Precision", "Recall"].map { html.range(of: "<th>\($0) ")!.lowerBound }
        XCTAssertEqual(header, header.sorted(), "ADM column order")
        XCTAssertTrue(html.contains("<td>80.25</td>"))
        XCTAssertTrue(html.contains("not a JSON object"), "bad line noted")
        XCTAssertTrue(html.contains("DiT vs DiMR"))
        XCTAssertFalse(html.contains("Pairwise score ranking"), "no per-image scores, no rank test")

        // With per-image scores the page also shows the Mann–Whitney ranking (saturated rates here).
        let ranked = DistortionComparison(labels: ["DiT", "DiMR"], scores: [score(100, 100), score(100, 100)],
                                          perImage: [(0..<100).map { 0.9 + Double($0) / 1000 }, (0..<100).map { 0.8 + Double($0) / 1000 }])
        let rankedHTML = renderHTMLReport(ReportInputs(runs: runs, comparison: ranked))
        XCTAssertTrue(rankedHTML.contains("Pairwise score ranking"))
        XCTAssertTrue(rankedHTML.contains("separate 1 of 1 pairs: read the ranking from them"))
        XCTAssertTrue(rankedHTML.contains("<td>DiT vs DiMR</td><td>1</td>"), "every DiT score is above every DiMR score")

        // Identical score sets: the page must not claim the scores rank the models.
        let tied = DistortionComparison(labels: ["DiT", "DiMR"], scores: [score(100, 100), score(100, 100)],
                                        perImage: [[Double](repeating: 1, count: 100), [Double](repeating: 1, count: 100)])
        let tiedHTML = renderHTMLReport(ReportInputs(runs: runs, comparison: tied))
        XCTAssertTrue(tiedHTML.contains("separate no pair either"))
        XCTAssertFalse(tiedHTML.contains("read the ranking from them"))
    }

    /// A run without distortion.json takes its rate from the comparison score whose samples file
    /// lies in its folder (the demo's and any `report RUN… --compare` case); a score from another
    /// folder is not taken. Rates are drawn on a 0–100% axis even when every rate is 1.
    func testRunRateFromComparisonAndRateAxis() throws {
        let root = try temporaryDirectory(self)
        let dit = try makeRun("dit", in: root, withImages: false), dimr = try makeRun("dimr", in: root, withImages: false)
        try #"{"step": 400, "distortion_rate": 1}"#.write(to: dit.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        var inside = score(97, 100), elsewhere = score(42, 100)
        inside.source = dit.appendingPathComponent("samples/final.npz").path
        elsewhere.source = root.appendingPathComponent("other/dimr-samples.npz").path
        let comparison = DistortionComparison(labels: ["DiT", "DiMR"], scores: [inside, elsewhere])
        XCTAssertEqual(comparison.score(ofSamplesIn: dit)?.flagged, 97)
        XCTAssertNil(comparison.score(ofSamplesIn: dimr), "dimr's samples are not in its folder")
        let html = renderHTMLReport(ReportInputs(runs: try [RunDirectory(dit), RunDirectory(dimr)], comparison: comparison))
        let ditRow = try XCTUnwrap(html.components(separatedBy: "<tr><td>dit</td>").dropFirst().first?.components(separatedBy: "</tr>").first)
        XCTAssertTrue(ditRow.contains("97% <span class=\"muted\">[94, 100]</span>"), ditRow)
        let dimrRow = try XCTUnwrap(html.components(separatedBy: "<tr><td>dimr</td>").dropFirst().first?.components(separatedBy: "</tr>").first)
        XCTAssertFalse(dimrRow.contains("42%"), "no score from another folder")
        let chart = try XCTUnwrap(html.components(separatedBy: "Distortion rate vs step</text>").dropFirst().first?.components(separatedBy: "</svg>").first)
        XCTAssertTrue(chart.contains(">0%<") && chart.contains(">100%<"), "rate axis spans 0–100%")
        XCTAssertFalse(chart.contains(">160%<") || chart.contains(">1.6<"))
    }

    /// Each run's samples beside a grid of the real images it was scored against (its
    /// reference.npz), a grid per checkpoint (samples/step-XXXXXXXX.npz, in step order), and FID∞
    /// with FID's interval in the metrics table when the final scores have them. The page is also
    /// left in .build/test-artifacts/report.html, which `.ci/run` renders in headless Chromium
    /// (scripts/check-report.sh).
    func testReferenceAndCheckpointGridsAndFIDInfinity() throws {
        let root = try temporaryDirectory(self)
        func batch(_ url: URL, count: Int, tint: Int) throws {
            let pixels = (0..<(count * 8 * 8 * 3)).map { UInt8(($0 * 7 + tint) % 256) }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try writeNpz([("arr_0", NpyArray(uint8: pixels, shape: [count, 8, 8, 3]))], to: url)
        }
        var runs: [URL] = []
        for (i, name) in ["dit", "dimr"].enumerated() {
            let run = try makeRun(name, in: root, withImages: true)
            try batch(run.appendingPathComponent("reference.npz"), count: 80, tint: 0)
            for step in [200, 100, 1000] {
                try batch(run.appendingPathComponent(String(format: "samples/step-%08d.npz", step)), count: 20, tint: step + i)
            }
            let final = #"{"step": 300, "final": "64 samples", "fid": 70.5, "fid_infinity": 61.25, "fid_ci_low": 66.5, "fid_ci_high": 79.75}"#
            let handle = try FileHandle(forWritingTo: run.appendingPathComponent("metrics.jsonl"))
            handle.seekToEndOfFile(); handle.write(Data(("\n" + final + "\n").utf8)); try handle.close()
            runs.append(run)
        }
        let directories = try runs.map { try RunDirectory($0) }
        XCTAssertEqual(directories[0].checkpointSamples.map(\.step), [100, 200, 1000])
        XCTAssertEqual(directories[0].referenceBatch?.lastPathComponent, "reference.npz")
        var inputs = ReportInputs(runs: directories, comparison: DistortionComparison(labels: ["DiT", "DiMR"], scores: [score(71, 100), score(29, 100)]))
        inputs.title = "dimr-eval test report"
        let html = renderHTMLReport(inputs)
        XCTAssertEqual(html.components(separatedBy: "<figcaption>reference: real images (reference.npz)").count - 1, 2, "one reference grid per run")
        let steps = ["step 100", "step 200", "step 1000"].map { html.range(of: "<figcaption>\($0)</figcaption>")!.lowerBound }
        XCTAssertEqual(steps, steps.sorted(), "checkpoint grids in step order")
        XCTAssertEqual(html.components(separatedBy: "<figcaption>step ").count - 1, 6)
        XCTAssertTrue(html.contains("<th>FID∞ ↓</th>") && html.contains("<td>61.25</td>") && html.contains("<td>[66.5, 79.75]</td>"))
        XCTAssertFalse(html.lowercased().contains("http://") || html.lowercased().contains("https://"))
        XCTAssertFalse(html.contains("cannot draw"), "every batch drawn")

        let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        try writeAtomically(Data(html.utf8), to: artifacts.appendingPathComponent("report.html"))
    }

    /// JSON 0 and 1 stay numbers (Linux's `0 is Bool` is true), true/false are not numbers.
    func testJSONNumbersZeroAndOneAreNotBooleans() throws {
        let object = try JSONSerialization.jsonObject(with: Data(#"{"zero":0,"one":1,"half":0.5,"yes":true,"text":"1"}"#.utf8)) as! [String: Any]
        XCTAssertEqual(jsonNumber(object["zero"]!), 0)
        XCTAssertEqual(jsonNumber(object["one"]!), 1)
        XCTAssertEqual(jsonNumber(object["half"]!), 0.5)
        XCTAssertNil(jsonNumber(object["yes"]!))
        XCTAssertNil(jsonNumber(object["text"]!))
    }

    func testCharts() throws {
        let bars = [IntervalBar(label: "DiT", value: 0.71, low: 0.68, high: 0.74), IntervalBar(label: "DiMR", value: 0.292, low: 0.26, high: 0.32)]
        let svg = svgBarChart(bars, title: "rates", yLabel: "rate")
        XCTAssertTrue(svg.contains("71%") && svg.contains("DiMR"))
        XCTAssertFalse(svg.contains("http"))
        XCTAssertTrue(standaloneSVG(svg).contains("xmlns=\"http://www.w3.org/2000/svg\""), "a file of its own needs the namespace")
        let png = rasterBarChart(bars, title: "rates", yLabel: "rate", width: 320, height: 200)
        XCTAssertEqual(png.width, 320)
        let decoded = try decodePNG(try encodePNG(png))
        XCTAssertEqual(decoded, png)
        // Bars are drawn: the first palette colour appears, and the background stays white at a corner.
        let blue = chartPalette[0]
        XCTAssertTrue(stride(from: 0, to: png.pixels.count, by: 3).contains { png.pixels[$0] == blue.r && png.pixels[$0 + 1] == blue.g && png.pixels[$0 + 2] == blue.b })
        XCTAssertEqual(Array(png.pixels[0..<3]), [255, 255, 255])
        let scale = ChartScale(covering: [0.03, 0.71], includeZero: true)
        XCTAssertEqual(scale.low, 0)
        XCTAssertEqual(scale.ticks.last!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(formatNumber(80.25, significant: 5), "80.25")
        XCTAssertTrue(svgLineChart([LineSeries(name: "a", points: [])], title: "t", xLabel: "x", yLabel: "y").contains("no data"))
    }
}
