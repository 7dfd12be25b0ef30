import Foundation
import TensorIO

/// Where in an image the patch-grid evidence is: for each cell of a p×p grid, how much sharper
/// the luma steps across the cell's borders are than the steps just inside them.
///
/// The classifier's features are whole-image summaries (spectral peaks, pixel statistics,
/// Inception pooling), so they have no honest per-patch decomposition. The seam ratio is the local
/// counterpart of `PatchGridSpectrum`'s periodic-gradient evidence, which is what a patchifying
/// model's seams and per-patch offsets leave, and a person can check it against the picture:
///     ratio(cell) = (mean |Δluma| across its right and bottom borders + ε) / (mean |Δluma| one pixel inside them + ε)
/// ε = 2 luma levels keeps flat regions at 1. Natural content gives ≈ 1; a seam gives ≫ 1.
/// The grid size p is the one whose spectral grid evidence is strongest in this image.
public struct PatchSeamEvidence: Sendable {
    public let patchSize: Int
    public let rows: Int
    public let columns: Int
    /// rows × columns ratios, row-major.
    public let ratios: [Float]

    static let epsilon: Float = 2

    /// patchSize nil: chosen from the image's `PatchGridSpectrum` features (the p with the
    /// largest mean x + y peak ratio among those that fit at least four times).
    public init(_ image: RGBImage, patchSize: Int? = nil) {
        let w = image.width, h = image.height
        let p = patchSize ?? PatchSeamEvidence.strongestGrid(image)
        self.patchSize = p
        rows = max(h / p, 1); columns = max(w / p, 1)
        let luma = image.luma
        func step(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Float { abs(luma[y1 * w + x1] - luma[y0 * w + x0]) }
        var ratios = [Float](repeating: 1, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns {
                var across: Float = 0, inside: Float = 0, count: Float = 0
                let right = (c + 1) * p, bottom = (r + 1) * p  // first pixel past the cell
                if right < w && p >= 2 {
                    for y in (r * p)..<min(bottom, h) {
                        across += step(right - 1, y, right, y); inside += step(right - 2, y, right - 1, y); count += 1
                    }
                }
                if bottom < h && p >= 2 {
                    for x in (c * p)..<min(right, w) {
                        across += step(x, bottom - 1, x, bottom); inside += step(x, bottom - 2, x, bottom - 1); count += 1
                    }
                }
                if count > 0 { ratios[r * columns + c] = (across / count + Self.epsilon) / (inside / count + Self.epsilon) }
            }
        }
        self.ratios = ratios
    }

    static func strongestGrid(_ image: RGBImage) -> Int {
        let f = PatchGridSpectrum().features(image)
        var best = (size: 4, evidence: -Float.infinity)
        for (i, p) in PatchGridSpectrum.patchSizes.enumerated() where p * 4 <= min(image.width, image.height) {
            // Per patch size: x mean, x max, y mean, y max.
            let evidence = f[4 * i] + f[4 * i + 2]
            if evidence > best.evidence { best = (p, evidence) }
        }
        return best.size
    }

    /// The image enlarged `scale`× (nearest neighbour, so seams stay sharp) beside the same image
    /// with each cell tinted red by its evidence (opacity (ratio − 1)/2, capped at 0.7: a ratio of
    /// 2.4 or more is fully marked) and the grid drawn in grey.
    public func overlay(on image: RGBImage, scale: Int = 8) -> RGBImage {
        let w = image.width * scale, h = image.height * scale, gap = 4
        var out = RGBImage(width: 2 * w + gap, height: h, pixels: [UInt8](repeating: 255, count: (2 * w + gap) * h * 3))
        for y in 0..<h {
            for x in 0..<w {
                let sx = x / scale, sy = y / scale
                let r = min(sy / patchSize, rows - 1), c = min(sx / patchSize, columns - 1)
                let alpha = min(max((ratios[r * columns + c] - 1) / 2, 0), 0.7)
                let onGrid = (sx % patchSize == 0 && x % scale == 0) || (sy % patchSize == 0 && y % scale == 0)
                for ch in 0..<3 {
                    let v = Float(image.pixels[(sy * image.width + sx) * 3 + ch])
                    out.pixels[(y * out.width + x) * 3 + ch] = UInt8(v)
                    let tint: Float = ch == 0 ? 255 : 0
                    let marked = onGrid ? 128 : v * (1 - alpha) + tint * alpha
                    out.pixels[(y * out.width + w + gap + x) * 3 + ch] = UInt8(clampingPixel: marked)
                }
            }
        }
        return out
    }
}
