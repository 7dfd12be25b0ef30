import Foundation

/// One bar with its confidence interval (e.g. a model's distortion rate).
public struct IntervalBar: Sendable {
    public var label: String
    public var value: Double
    public var low: Double
    public var high: Double
    public init(label: String, value: Double, low: Double, high: Double) {
        self.label = label; self.value = value; self.low = low; self.high = high
    }
}

/// One line of a line chart: (x, y) points, non-finite y skipped.
public struct LineSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
}

/// An SVG from these charts as a file of its own: adds the SVG namespace declaration, which a
/// standalone file needs and inline SVG in HTML does not (the report keeps no URLs at all).
public func standaloneSVG(_ svg: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg.replacingOccurrences(
        of: "<svg ", with: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", options: [], range: svg.range(of: "<svg "))
}

/// Escapes text for XML/HTML content and attributes.
public func escapeXML(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(ch)
        }
    }
    return out
}

private func f(_ v: Double) -> String { String(format: "%.1f", v) }

/// A standalone SVG bar chart with interval whiskers. `percent` labels values as percentages.
public func svgBarChart(_ bars: [IntervalBar], title: String, yLabel: String, percent: Bool = true,
                        width: Int = 560, height: Int = 360) -> String {
    let scale = ChartScale(covering: bars.flatMap { [$0.value, $0.low, $0.high] }, includeZero: true)
    let left = 64.0, right = 16.0, top = 40.0, bottom = 48.0
    let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
    func y(_ v: Double) -> Double { top + plotH * (1 - scale.fraction(v)) }
    var svg = """
    <svg width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
    font-family="sans-serif" font-size="12" role="img" aria-label="\(escapeXML(title))">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escapeXML(title))</text>

    """
    for t in scale.ticks {
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y(t)))\" y2=\"\(f(y(t)))\" stroke=\"#ddd\"/>"
        svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(t) + 4))\" text-anchor=\"end\">\(escapeXML(scale.label(t, percent: percent)))</text>\n"
    }
    svg += "<text transform=\"translate(14,\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
    let slot = plotW / Double(max(bars.count, 1)), barW = min(slot * 0.6, 90)
    for (i, bar) in bars.enumerated() {
        let cx = left + slot * (Double(i) + 0.5)
        let barTop = y(max(bar.value, 0)), base = y(0)
        svg += "<rect x=\"\(f(cx - barW / 2))\" y=\"\(f(min(barTop, base)))\" width=\"\(f(barW))\" height=\"\(f(abs(base - barTop)))\" fill=\"\(hexColour(i))\"><title>\(escapeXML(bar.label)): \(escapeXML(scale.label(bar.value, percent: percent))) [\(escapeXML(scale.label(bar.low, percent: percent))), \(escapeXML(scale.label(bar.high, percent: percent)))]</title></rect>\n"
        // interval whisker
        svg += "<path d=\"M\(f(cx)) \(f(y(bar.low)))V\(f(y(bar.high)))M\(f(cx - 8)) \(f(y(bar.low)))H\(f(cx + 8))M\(f(cx - 8)) \(f(y(bar.high)))H\(f(cx + 8))\" stroke=\"black\" stroke-width=\"1.5\" fill=\"none\"/>\n"
        svg += "<text x=\"\(f(cx + barW / 2 + 2))\" y=\"\(f(barTop - 4))\" font-size=\"11\">\(escapeXML(scale.label(bar.value, percent: percent)))</text>\n"
        svg += "<text x=\"\(f(cx))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(escapeXML(bar.label))</text>\n"
    }
    svg += "<line x1=\"\(f(left))\" x2=\"\(f(left))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>"
    svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y(max(scale.low, 0))))\" y2=\"\(f(y(max(scale.low, 0))))\" stroke=\"black\"/>\n"
    svg += "</svg>\n"
    return svg
}

/// A standalone SVG line chart with a legend; `logY` for quantities like loss.
/// `yCovers`: values the y axis spans whatever the data (e.g. [0, 1] for rates, so that a run
/// flat at 100% is drawn at the top of a 0–100% axis, not in the middle of one around 1).
public func svgLineChart(_ series: [LineSeries], title: String, xLabel: String, yLabel: String, logY: Bool = false,
                         yCovers: [Double] = [], percentY: Bool = false, width: Int = 560, height: Int = 320) -> String {
    let clean = series.map { s in LineSeries(name: s.name, points: s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }) }
    let xs = ChartScale(covering: clean.flatMap { $0.points.map(\.x) })
    let ys = ChartScale(covering: clean.flatMap { $0.points.map(\.y) } + yCovers, logarithmic: logY)
    let left = 64.0, right = 16.0, top = 40.0, bottom = 48.0
    let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
    func px(_ v: Double) -> Double { left + plotW * xs.fraction(v) }
    func py(_ v: Double) -> Double { top + plotH * (1 - ys.fraction(v)) }
    var svg = """
    <svg width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
    font-family="sans-serif" font-size="12" role="img" aria-label="\(escapeXML(title))">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escapeXML(title))</text>

    """
    for t in ys.ticks {
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" stroke=\"#ddd\"/>"
        svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(escapeXML(ys.label(t, percent: percentY)))</text>\n"
    }
    for t in xs.ticks {
        svg += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(escapeXML(xs.label(t)))</text>\n"
    }
    svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
    svg += "<text transform=\"translate(14,\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
    svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
    for (i, s) in clean.enumerated() where !s.points.isEmpty {
        let path = s.points.enumerated().map { k, p in "\(k == 0 ? "M" : "L")\(f(px(p.x))) \(f(py(p.y)))" }.joined()
        svg += "<path d=\"\(path)\" stroke=\"\(hexColour(i))\" stroke-width=\"2\" fill=\"none\"/>\n"
        if s.points.count <= 40 {
            for p in s.points { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(hexColour(i))\"/>" }
            svg += "\n"
        }
        let ly = top + 14 + Double(i) * 16
        svg += "<rect x=\"\(f(left + plotW - 120))\" y=\"\(f(ly - 9))\" width=\"12\" height=\"3\" fill=\"\(hexColour(i))\"/>"
        svg += "<text x=\"\(f(left + plotW - 104))\" y=\"\(f(ly - 4))\">\(escapeXML(s.name))</text>\n"
    }
    if clean.allSatisfy({ $0.points.isEmpty }) {
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n"
    }
    svg += "</svg>\n"
    return svg
}
