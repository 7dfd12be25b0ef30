import Distortion
import Foundation
import TensorIO

/// Everything one report page shows.
public struct ReportInputs {
    public var title = "dimr-eval report"
    public var runs: [RunDirectory]
    /// The output of `distortion compare --save-json` (a chart and table are drawn from it).
    public var comparison: DistortionComparison?
    /// Extra figures (title, PNG file), e.g. a worst-distortion grid kept elsewhere.
    public var extraImages: [(title: String, url: URL)] = []
    /// Images larger than this are listed but not embedded (the page stays loadable).
    public var maxEmbeddedBytes = 8 << 20
    /// Images drawn from a run's reference batch, and from each checkpoint's samples.
    public var referenceGridImages = 64
    public var checkpointGridImages = 16

    public init(runs: [RunDirectory], comparison: DistortionComparison? = nil) {
        self.runs = runs
        self.comparison = comparison
    }

    /// The run folders (each must hold a run: `RunDirectory.requireRun`) and, when given, the
    /// comparison `distortion compare --save-json` wrote (`dimr-eval report`, the demo's report).
    public init(runFolders: [URL], comparisonFile: URL?) throws {
        self.init(runs: try runFolders.map(RunDirectory.requireRun))
        guard let url = comparisonFile else { return }
        guard let data = try? Data(contentsOf: url) else {
            throw FormatError(url, field: "comparison", expected: "a file from `distortion compare --save-json`", found: "no readable file")
        }
        do { comparison = try JSONDecoder().decode(DistortionComparison.self, from: data) } catch {
            throw FormatError(url, field: "comparison", expected: "the JSON of `distortion compare --save-json`", found: "\(error)")
        }
    }
}

/// `renderHTMLReport` written to `url` atomically; returns the page's size in bytes.
public func writeHTMLReport(_ inputs: ReportInputs, to url: URL, generated: Date = Date()) throws -> Int {
    let html = Data(renderHTMLReport(inputs, generated: generated).utf8)
    try writeAtomically(html, to: url)
    return html.count
}

/// One self-contained HTML page: styles inline, charts as inline SVG, images as data: URIs,
/// no script and no network reference of any kind — it opens the same offline, in a mail
/// attachment or in a CI artifact.
public func renderHTMLReport(_ inputs: ReportInputs, generated: Date = Date()) -> String {
    var notes: [String] = []
    var html = """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(escapeXML(inputs.title))</title>
    <style>
    body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
    h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ccc;padding-bottom:4px}h3{font-size:15px}
    table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
    th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
    .charts{display:flex;flex-wrap:wrap;gap:12px}.muted{color:#777}figure{display:inline-block;margin:8px 16px 8px 0}
    figure img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd}figcaption{font-size:13px;color:#555}
    </style></head><body>
    <h1>\(escapeXML(inputs.title))</h1>
    <p class="muted">Generated \(escapeXML(ISO8601DateFormatter().string(from: generated))) by dimr-eval from \
    \(inputs.runs.count) run folder\(inputs.runs.count == 1 ? "" : "s")\(inputs.runs.isEmpty ? "" : ": " + inputs.runs.map { escapeXML($0.label) }.joined(separator: ", ")).</p>

    """

    // Training curves.
    html += "<h2>Training curves</h2>\n<div class=\"charts\">\n"
    let loss = inputs.runs.map { LineSeries(name: $0.label, points: $0.lossCurve) }
    html += svgLineChart(loss, title: "Training loss", xLabel: "step", yLabel: "loss", logY: loss.allSatisfy { $0.points.allSatisfy { $0.y > 0 } })
    for (key, title, label, isRate) in [("fid", "FID vs step", "FID", false), ("distortion", "Distortion rate vs step", "distortion rate", true),
                                          ("label_accuracy", "Label accuracy vs step", "label accuracy", true)] {
        let series = inputs.runs.map { run in
            LineSeries(name: run.label, points: run.evaluations.compactMap { e in
                e["final"] != nil ? nil : e["step"].flatMap { s in e[key].map { (s, $0) } }
            })
        }
        // A metric no run recorded while training gets no empty chart.
        if key != "fid" && series.allSatisfy({ $0.points.isEmpty }) { continue }
        html += svgLineChart(series, title: title, xLabel: "step", yLabel: label, yCovers: isRate ? [0, 1] : [], percentY: isRate)
    }
    html += "</div>\n"

    // Metrics in the order the ADM evaluator prints them.
    // FID∞ (and IS∞) beside FID when any run has them (`eval --fid-infinity`).
    let unbiased = inputs.runs.contains { $0.finalEvaluation?["fid_infinity"] != nil }
    html += "<h2>Metrics</h2>\n<p class=\"muted\">Last evaluation of each run, columns in the ADM evaluator's order"
        + (unbiased ? "; FID∞ and IS∞ are extrapolated to infinitely many samples (Chong &amp; Forsyth 2020), the interval is a bootstrap of the samples" : "") + ".</p>\n"
    html += "<table><tr><th>Run</th><th>Step</th><th>Inception Score ↑</th>" + (unbiased ? "<th>IS∞ ↑</th>" : "")
        + "<th>FID ↓</th>" + (unbiased ? "<th>FID 95% interval</th><th>FID∞ ↓</th>" : "")
        + "<th>sFID ↓</th><th>Precision ↑</th><th>Recall ↑</th><th>Label accuracy ↑</th><th>Distortion rate ↓</th></tr>\n"
    for run in inputs.runs {
        let e = run.finalEvaluation ?? [:]
        func cell(_ key: String, percent: Bool = false) -> String {
            guard let v = e[key] else { return "<td class=\"muted\">–</td>" }
            return "<td>" + (percent ? formatNumber(v * 100, significant: 3) + "%" : formatNumber(v, significant: 5)) + "</td>"
        }
        var distortionCell = cell("distortion", percent: true)
        if let d = run.distortion ?? inputs.comparison?.score(ofSamplesIn: run.url) {
            distortionCell = "<td>\(formatNumber(d.distortionRate * 100, significant: 3))% <span class=\"muted\">[\(formatNumber(d.ciLow * 100, significant: 3)), \(formatNumber(d.ciHigh * 100, significant: 3))]</span></td>"
        }
        html += "<tr><td>\(escapeXML(run.label))</td>\(e["step"].map { "<td>\(Int($0))</td>" } ?? "<td class=\"muted\">–</td>")"
        var interval = "<td class=\"muted\">–</td>"
        if let low = e["fid_ci_low"], let high = e["fid_ci_high"] {
            interval = "<td>[\(formatNumber(low, significant: 5)), \(formatNumber(high, significant: 5))]</td>"
        }
        html += cell("is") + (unbiased ? cell("is_infinity") : "") + cell("fid") + (unbiased ? interval + cell("fid_infinity") : "")
        html += cell("sfid") + cell("precision") + cell("recall") + labelAccuracyCell(e) + distortionCell + "</tr>\n"
        notes += run.notes.map { "\(run.label): \($0)" }
    }
    html += "</table>\n"
    if inputs.runs.contains(where: { $0.finalEvaluation?["label_accuracy"] != nil }) {
        html += "<p class=\"muted\">Label accuracy: the share of samples that a logistic regression on the reference's Inception features and labels assigns to the class they were drawn for (in brackets: the same classifier on held-out reference images, the ceiling). On small images it follows what a person recognises in the grids, where precision asks for near pixel-exact copies.</p>\n"
    }

    // Distortion comparison.
    html += "<h2>Distortion</h2>\n"
    if let comparison = inputs.comparison {
        let bars = zip(comparison.labels, comparison.scores).map { IntervalBar(label: $0, value: $1.distortionRate, low: $1.ciLow, high: $1.ciHigh) }
        let confidence = comparison.scores.first.map { Int(($0.confidence * 100).rounded()) } ?? 95
        html += svgBarChart(bars, title: "Distortion rate (\(confidence)% bootstrap CI)", yLabel: "distortion rate")
        html += "<table><tr><th>Model</th><th>Samples</th><th>Flagged</th><th>Distortion rate</th><th>\(confidence)% CI</th><th>Threshold</th><th>Median p(distorted)</th></tr>\n"
        for (label, s) in zip(comparison.labels, comparison.scores) {
            html += "<tr><td>\(escapeXML(label))</td><td>\(s.count)</td><td>\(s.flagged)</td><td>\(formatNumber(s.distortionRate * 100, significant: 3))%</td>"
            html += "<td>[\(formatNumber(s.ciLow * 100, significant: 3))%, \(formatNumber(s.ciHigh * 100, significant: 3))%]</td><td>\(formatNumber(s.threshold, significant: 4))</td>"
            html += "<td>\(s.medianProbability.map { formatNumber($0, significant: 4) } ?? "–")</td></tr>\n"
        }
        html += "</table>\n<h3>Pairwise tests (two-proportion z-test, Holm-adjusted)</h3>\n"
        html += "<table><tr><th>Pair</th><th>Difference</th><th>z</th><th>p</th><th>p (Holm)</th><th>Significant at 5%</th></tr>\n"
        for p in comparison.pairs {
            html += "<tr><td>\(escapeXML(p.a)) vs \(escapeXML(p.b))</td><td>\(formatNumber(p.difference * 100, significant: 3)) pts</td>"
            html += "<td>\(formatNumber(p.z, significant: 3))</td><td>\(formatNumber(p.p, significant: 3))</td><td>\(formatNumber(p.pHolm, significant: 3))</td><td>\(p.significant ? "yes" : "no")</td></tr>\n"
        }
        html += "</table>\n"
        if comparison.pairs.contains(where: { $0.scoreTest != nil }) {
            html += "<h3>Pairwise score ranking (Mann–Whitney U on p(distorted), Holm-adjusted)</h3>\n"
            if comparison.ratesUninformative, let summary = comparison.scoreRankingSummary {
                html += "<p class=\"muted\">The rates are saturated or separate no pair; \(escapeXML(summary)).</p>\n"
            }
            html += "<table><tr><th>Pair</th><th>P(a scores higher)</th><th>U</th><th>p</th><th>p (Holm)</th><th>Significant at 5%</th></tr>\n"
            for p in comparison.pairs {
                guard let t = p.scoreTest else { continue }
                html += "<tr><td>\(escapeXML(p.a)) vs \(escapeXML(p.b))</td><td>\(formatNumber(t.superiority, significant: 3))</td><td>\(formatNumber(t.u, significant: 6))</td>"
                html += "<td>\(formatNumber(t.p, significant: 3))</td><td>\(formatNumber(t.pHolm, significant: 3))</td><td>\(t.significant ? "yes" : "no")</td></tr>\n"
            }
            html += "</table>\n"
        }
        let allNotes = Set(comparison.scores.flatMap(\.notes))
        for note in allNotes.sorted() { html += "<p class=\"muted\">\(escapeXML(note))</p>\n" }
    } else {
        html += "<p class=\"muted\">No comparison given (run <code>dimr-eval distortion compare … --save-json compare.json</code> and pass <code>--compare compare.json</code>).</p>\n"
    }
    // Each run's worst grid with its heatmaps beside it (patch-seam evidence per sample, left the
    // sample, right the same with its cells tinted), so a person can check what was flagged.
    for run in inputs.runs where !run.worstGrids.isEmpty || !run.heatmaps.isEmpty {
        html += "<div class=\"charts\">\n"
        for url in run.worstGrids { html += figure("\(run.label): most distorted samples", url, maxBytes: inputs.maxEmbeddedBytes, notes: &notes) }
        for url in run.heatmaps {
            html += figure("\(run.label): patch-seam evidence, \(url.deletingPathExtension().lastPathComponent)", url,
                           maxBytes: inputs.maxEmbeddedBytes, notes: &notes)
        }
        html += "</div>\n"
    }
    for (title, url) in inputs.extraImages where title.lowercased().contains("worst") {
        html += figure(title, url, maxBytes: inputs.maxEmbeddedBytes, notes: &notes)
    }

    // Samples, each run's beside the real images it was scored against, then one grid per checkpoint.
    html += "<h2>Samples</h2>\n"
    for run in inputs.runs {
        html += "<h3>\(escapeXML(run.label))</h3>\n<div class=\"charts\">\n"
        if let reference = run.referenceBatch {
            html += batchFigure("reference: real images (\(reference.lastPathComponent))", reference, limit: inputs.referenceGridImages, notes: &notes)
        }
        if run.sampleGrids.isEmpty { html += "<p class=\"muted\">No PNG sample grids in \(escapeXML(run.url.path)).</p>\n" }
        for url in run.sampleGrids { html += figure(url.lastPathComponent, url, maxBytes: inputs.maxEmbeddedBytes, notes: &notes) }
        html += "</div>\n"
        if !run.checkpointSamples.isEmpty {
            html += "<h3>\(escapeXML(run.label)): samples by checkpoint</h3>\n<div class=\"charts\">\n"
            for (step, url) in run.checkpointSamples {
                html += batchFigure("step \(step)", url, limit: inputs.checkpointGridImages, notes: &notes)
            }
            html += "</div>\n"
        }
    }
    for (title, url) in inputs.extraImages where !title.lowercased().contains("worst") {
        html += figure(title, url, maxBytes: inputs.maxEmbeddedBytes, notes: &notes)
    }

    if !notes.isEmpty {
        html += "<h2>Notes</h2>\n<ul>\n" + notes.map { "<li>\(escapeXML($0))</li>\n" }.joined() + "</ul>\n"
    }
    html += "</body></html>\n"
    return html
}

/// The first `limit` images of an ADM batch (`arr_0`) as an embedded grid, or a note when the
/// batch cannot be read.
private func batchFigure(_ caption: String, _ url: URL, limit: Int, notes: inout [String]) -> String {
    do {
        var images: [RGBImage] = []
        struct Enough: Error {}
        do {
            try openImageSource(url).forEachBatch(size: limit) { _, batch in images = batch; throw Enough() }
        } catch is Enough {}
        guard !images.isEmpty else { return "" }
        let grid = squareImageGrid(images)
        return pngFigure(caption, Data(try encodePNG(grid)))
    } catch {
        notes.append("cannot draw \(url.path): \(error)")
        return ""
    }
}

/// A PNG embedded as a data: URI with a caption, or a note when it cannot be.
private func figure(_ caption: String, _ url: URL, maxBytes: Int, notes: inout [String]) -> String {
    guard let data = try? Data(contentsOf: url) else {
        notes.append("cannot read \(url.path)")
        return ""
    }
    guard data.count <= maxBytes else {
        notes.append("\(url.path) is \(data.count >> 20) MB; not embedded")
        return ""
    }
    guard data.starts(with: [0x89, 0x50, 0x4E, 0x47]) else {
        notes.append("\(url.path) is not a PNG; not embedded")
        return ""
    }
    return pngFigure(caption, data)
}

private func pngFigure(_ caption: String, _ data: Data) -> String {
    // Small images (32×32 samples) are shown enlarged, pixels kept sharp by the CSS.
    let width = data.count >= 24 ? Int(data[16]) << 24 | Int(data[17]) << 16 | Int(data[18]) << 8 | Int(data[19]) : 0
    let style = width > 0 && width < 320 ? " style=\"width:\(width * max(1, 320 / width))px\"" : ""
    return "<figure><img\(style) alt=\"\(escapeXML(caption))\" src=\"data:image/png;base64,\(data.base64EncodedString())\"><figcaption>\(escapeXML(caption))</figcaption></figure>\n"
}

/// "0.73 [1.00]": the samples' label accuracy and, in brackets, the reference's own (cross-fitted).
private func labelAccuracyCell(_ e: [String: Double]) -> String {
    guard let accuracy = e["label_accuracy"] else { return "<td class=\"muted\">–</td>" }
    let ceiling = e["label_accuracy_reference"].map { " <span class=\"muted\">[\(formatNumber($0, significant: 3))]</span>" } ?? ""
    return "<td>\(formatNumber(accuracy, significant: 3))\(ceiling)</td>"
}
