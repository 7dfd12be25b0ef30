import Foundation

/// A value axis with "nice" ticks (steps of 1, 2 or 5 × 10^k), shared by the SVG and PNG charts.
public struct ChartScale: Sendable {
    public var low: Double
    public var high: Double
    public var ticks: [Double]
    public var logarithmic: Bool

    /// Covers `values` (non-finite ones ignored), optionally starting at zero.
    public init(covering values: [Double], includeZero: Bool = false, logarithmic: Bool = false, targetTicks: Int = 5) {
        self.logarithmic = logarithmic
        var finite = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        if finite.isEmpty { finite = [logarithmic ? 1 : 0, 1] }
        if logarithmic {
            let lo = floor(log10(finite.min()!)), hi = max(ceil(log10(finite.max()!)), lo + 1)
            low = pow(10, lo); high = pow(10, hi)
            ticks = stride(from: lo, through: hi, by: 1).map { pow(10, $0) }
            return
        }
        var lo = finite.min()!, hi = finite.max()!
        if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
        if hi - lo < 1e-12 { lo -= 0.5 * max(abs(lo), 1e-3); hi += 0.5 * max(abs(hi), 1e-3) }
        let raw = (hi - lo) / Double(max(targetTicks, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        low = floor(lo / step) * step
        high = ceil(hi / step) * step
        ticks = stride(from: low, through: high + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
    }

    /// 0 at `low`, 1 at `high`.
    public func fraction(_ v: Double) -> Double {
        if logarithmic { return (log10(max(v, 1e-300)) - log10(low)) / (log10(high) - log10(low)) }
        return (v - low) / (high - low)
    }

    /// A short label for a tick value.
    public func label(_ v: Double, percent: Bool = false) -> String {
        if percent { return formatNumber(v * 100, significant: 3) + "%" }
        return formatNumber(v, significant: 4)
    }
}

/// Compact number text: up to `significant` digits, no trailing zeros, exponent form when huge or tiny.
public func formatNumber(_ v: Double, significant: Int = 4) -> String {
    guard v.isFinite else { return v.isNaN ? "–" : (v > 0 ? "∞" : "-∞") }
    if v == 0 { return "0" }
    let magnitude = abs(v)
    if magnitude >= 1e6 || magnitude < 1e-3 { return String(format: "%.\(max(significant - 1, 0))e", v) }
    let decimals = max(0, significant - 1 - Int(floor(log10(magnitude))))
    var text = String(format: "%.\(decimals)f", v)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text
}

/// Colours for series and bars (colour-blind-safe, Okabe–Ito).
public let chartPalette: [(r: UInt8, g: UInt8, b: UInt8)] = [
    (0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233), (240, 228, 66), (0, 0, 0),
]

func hexColour(_ i: Int) -> String {
    let c = chartPalette[i % chartPalette.count]
    return String(format: "#%02x%02x%02x", c.r, c.g, c.b)
}
