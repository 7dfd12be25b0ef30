import Foundation
import TensorIO

/// The bar chart of `svgBarChart` drawn into pixels (filled rectangles and the 5×7 bitmap
/// font), for places that want a PNG. Encode with `encodePNG`.
public func rasterBarChart(_ bars: [IntervalBar], title: String, yLabel: String, percent: Bool = true,
                           width: Int = 640, height: Int = 400) -> RGBImage {
    var canvas = RGBImage(width: width, height: height, pixels: [UInt8](repeating: 255, count: width * height * 3))
    let black: (UInt8, UInt8, UInt8) = (0, 0, 0), grey: (UInt8, UInt8, UInt8) = (220, 220, 220)
    let scale = ChartScale(covering: bars.flatMap { [$0.value, $0.low, $0.high] }, includeZero: true)
    let left = 80, right = 20, top = 44, bottom = 44
    let plotW = width - left - right, plotH = height - top - bottom
    func y(_ v: Double) -> Int { top + Int((Double(plotH) * (1 - scale.fraction(v))).rounded()) }

    BitmapFont.draw(title, x: (width - BitmapFont.width(title, scale: 2)) / 2, y: 12, scale: 2, colour: black, into: &canvas)
    for t in scale.ticks {
        fillRect(&canvas, x: left, y: y(t), width: plotW, height: 1, colour: grey)
        let text = scale.label(t, percent: percent)
        BitmapFont.draw(text, x: left - 8 - BitmapFont.width(text, scale: 1), y: y(t) - 3, scale: 1, colour: black, into: &canvas)
    }
    // y-axis label, written vertically one letter per line would be hard to read; put it top-left.
    BitmapFont.draw(yLabel, x: 8, y: top - 16, scale: 1, colour: black, into: &canvas)
    let slot = Double(plotW) / Double(max(bars.count, 1)), barW = Int(min(slot * 0.6, 90))
    for (i, bar) in bars.enumerated() {
        let cx = left + Int(slot * (Double(i) + 0.5))
        let barTop = y(max(bar.value, 0)), base = y(0)
        let c = chartPalette[i % chartPalette.count]
        fillRect(&canvas, x: cx - barW / 2, y: min(barTop, base), width: barW, height: max(abs(base - barTop), 1), colour: (c.r, c.g, c.b))
        let lo = y(bar.low), hi = y(bar.high)
        fillRect(&canvas, x: cx - 1, y: min(lo, hi), width: 2, height: abs(lo - hi) + 1, colour: black)
        fillRect(&canvas, x: cx - 8, y: lo - 1, width: 16, height: 2, colour: black)
        fillRect(&canvas, x: cx - 8, y: hi - 1, width: 16, height: 2, colour: black)
        let value = scale.label(bar.value, percent: percent)
        BitmapFont.draw(value, x: cx + barW / 2 + 3, y: barTop - 10, scale: 1, colour: black, into: &canvas)
        BitmapFont.draw(bar.label, x: cx - BitmapFont.width(bar.label, scale: 2) / 2, y: top + plotH + 12,
                        scale: 2, colour: black, into: &canvas)
    }
    fillRect(&canvas, x: left, y: top, width: 1, height: plotH + 1, colour: black)
    fillRect(&canvas, x: left, y: y(max(scale.low, 0)), width: plotW, height: 1, colour: black)
    return canvas
}
