import Foundation
import TensorIO

/// Cheap pixel statistics that respond to the distortions the spectrum cannot see: straight
/// discontinuities across the image (tears, swapped patches), repeated regions, and overall
/// colour and edge content (so the classifier can tell "unusual image" from "distorted image").
public struct ImageStatistics: Sendable {
    public static let featureNames = [
        "mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b",
        "gradient_mean", "gradient_std", "laplacian_mean", "saturation_mean",
        "row_discontinuity", "column_discontinuity", "row_discontinuity_2nd", "column_discontinuity_2nd",
        "row_step_sharpness", "column_step_sharpness", "step_edge_share", "local_detail_low", "local_detail_high", "self_similarity",
    ]

    public init() {}

    public func features(_ image: RGBImage) -> [Float] {
        let w = image.width, h = image.height, n = Float(w * h)
        var out: [Float] = []
        var sums = [Float](repeating: 0, count: 3), squares = sums
        var saturation: Float = 0
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<(w * h) {
                let r = Float(p[3 * i]), g = Float(p[3 * i + 1]), b = Float(p[3 * i + 2])
                sums[0] += r; sums[1] += g; sums[2] += b
                squares[0] += r * r; squares[1] += g * g; squares[2] += b * b
                let hi = max(r, g, b), lo = min(r, g, b)
                saturation += hi > 0 ? (hi - lo) / hi : 0
            }
        }
        for c in 0..<3 { out.append(sums[c] / n / 255) }
        for c in 0..<3 { out.append((max(squares[c] / n - (sums[c] / n) * (sums[c] / n), 0)).squareRoot() / 255) }

        let luma = image.luma
        var rowProfile = [Float](repeating: 0, count: max(h - 1, 1)), columnProfile = [Float](repeating: 0, count: max(w - 1, 1))
        var gradientSum: Float = 0, gradientSquares: Float = 0, laplacian: Float = 0
        for y in 0..<h {
            for x in 0..<w {
                let v = luma[y * w + x]
                let dx = x + 1 < w ? luma[y * w + x + 1] - v : 0
                let dy = y + 1 < h ? luma[(y + 1) * w + x] - v : 0
                if x + 1 < w { columnProfile[x] += abs(dx) }
                if y + 1 < h { rowProfile[y] += abs(dy) }
                let magnitude = (dx * dx + dy * dy).squareRoot()
                gradientSum += magnitude; gradientSquares += magnitude * magnitude
                if x > 0, y > 0, x + 1 < w, y + 1 < h {
                    laplacian += abs(4 * v - luma[y * w + x - 1] - luma[y * w + x + 1] - luma[(y - 1) * w + x] - luma[(y + 1) * w + x])
                }
            }
        }
        let gradientMean = gradientSum / n
        out.append(gradientMean / 255)
        out.append(max(gradientSquares / n - gradientMean * gradientMean, 0).squareRoot() / 255)
        out.append(laplacian / n / 255)
        out.append(saturation / n)
        let rows = ImageStatistics.discontinuity(rowProfile), columns = ImageStatistics.discontinuity(columnProfile)
        out += [rows.first, columns.first, rows.second, columns.second]
        out += [ImageStatistics.stepSharpness(rowProfile), ImageStatistics.stepSharpness(columnProfile)]
        out.append(ImageStatistics.stepEdgeShare(luma, width: w, height: h))
        let detail = ImageStatistics.localDetail(luma, width: w, height: h)
        out += [detail.low, detail.high]
        out.append(ImageStatistics.selfSimilarity(image))
        return out
    }

    /// log(largest / median) and log(second largest / median) of a profile of summed |gradient|
    /// per row or column: a straight cut through the image is one outstanding line.
    static func discontinuity(_ profile: [Float]) -> (first: Float, second: Float) {
        guard profile.count >= 3 else { return (0, 0) }
        let sorted = profile.sorted()
        let median = sorted[sorted.count / 2] + 1e-3 * Float(profile.count)
        return (log((sorted[sorted.count - 1] + 1e-3) / median), log((sorted[sorted.count - 2] + 1e-3) / median))
    }

    /// A cut or pasted edge is a step one pixel wide: its row (or column) of |gradient| stands out
    /// from both neighbours, where the edges of a photograph are spread over several pixels.
    /// Returns log of the largest profile[i] / mean(profile[i−1], profile[i+1]).
    static func stepSharpness(_ profile: [Float]) -> Float {
        guard profile.count >= 3 else { return 0 }
        let floor = profile.reduce(0, +) / Float(profile.count) * 0.05 + 1e-3
        var best: Float = 0
        for i in 1..<(profile.count - 1) {
            best = max(best, log((profile[i] + floor) / ((profile[i - 1] + profile[i + 1]) / 2 + floor)))
        }
        return best
    }

    /// Share of strong edge pixels that are isolated one-pixel steps (|∂x| at x much larger than
    /// at x−1 and x+1, or likewise in y).
    static func stepEdgeShare(_ luma: [Float], width w: Int, height h: Int) -> Float {
        guard w >= 4, h >= 4 else { return 0 }
        var strong = 0, steps = 0
        for y in 1..<(h - 2) {
            for x in 1..<(w - 2) {
                let i = y * w + x
                let gx = abs(luma[i + 1] - luma[i]), gxl = abs(luma[i] - luma[i - 1]), gxr = abs(luma[i + 2] - luma[i + 1])
                let gy = abs(luma[i + w] - luma[i]), gyu = abs(luma[i] - luma[i - w]), gyd = abs(luma[i + 2 * w] - luma[i + w])
                if gx > 24 { strong += 1; if gx > 3 * max(gxl, gxr) { steps += 1 } }
                if gy > 24 { strong += 1; if gy > 3 * max(gyu, gyd) { steps += 1 } }
            }
        }
        return strong > 0 ? Float(steps) / Float(strong) : 0
    }

    /// Resampling (warps) softens a region and pasting sharpens one: log of the lowest and highest
    /// block Laplacian energy relative to the median block, over a 4×4 grid of blocks.
    static func localDetail(_ luma: [Float], width w: Int, height h: Int) -> (low: Float, high: Float) {
        let grid = 4, bw = w / grid, bh = h / grid
        guard bw >= 3, bh >= 3 else { return (0, 0) }
        var energies: [Float] = []
        for by in 0..<grid {
            for bx in 0..<grid {
                var e: Float = 0
                for y in max(by * bh, 1)..<min((by + 1) * bh, h - 1) {
                    for x in max(bx * bw, 1)..<min((bx + 1) * bw, w - 1) {
                        let i = y * w + x
                        let l = 4 * luma[i] - luma[i - 1] - luma[i + 1] - luma[i - w] - luma[i + w]
                        e += l * l
                    }
                }
                energies.append(e / Float(bw * bh))
            }
        }
        let sorted = energies.sorted(), median = sorted[sorted.count / 2] + 1
        return (log((sorted.first! + 1) / median), log((sorted.last! + 1) / median))
    }

    /// Evidence of a copied region: how closely the best-matching pair of textured 8×8 blocks at
    /// different, non-overlapping places agree, relative to their texture. Computed on the luma
    /// reduced to at most 64 pixels a side. Returns −log of the normalised distance (large = a
    /// near-exact repeat).
    static func selfSimilarity(_ image: RGBImage) -> Float {
        var small = image
        while small.width > 64 && small.height > 64 && small.width % 2 == 0 && small.height % 2 == 0 {
            small = small.resized(width: small.width / 2, height: small.height / 2)
        }
        let w = small.width, h = small.height, b = 8
        guard w >= 2 * b, h >= 2 * b else { return 0 }
        let luma = small.luma
        var best = Float.infinity
        for qy in stride(from: 0, through: h - b, by: b / 2) {
            for qx in stride(from: 0, through: w - b, by: b / 2) {
                var mean: Float = 0
                for y in 0..<b { for x in 0..<b { mean += luma[(qy + y) * w + qx + x] } }
                mean /= Float(b * b)
                var variance: Float = 0
                for y in 0..<b { for x in 0..<b { let d = luma[(qy + y) * w + qx + x] - mean; variance += d * d } }
                variance /= Float(b * b)
                guard variance > 25 else { continue }  // flat blocks (sky, walls) repeat naturally
                for cy in 0...(h - b) {
                    for cx in 0...(w - b) where abs(cx - qx) >= b || abs(cy - qy) >= b {
                        var distance: Float = 0
                        for y in 0..<b {
                            let q = (qy + y) * w + qx, c = (cy + y) * w + cx
                            for x in 0..<b { let d = luma[q + x] - luma[c + x]; distance += d * d }
                        }
                        best = min(best, distance / Float(b * b) / variance)
                    }
                }
            }
        }
        return best.isFinite ? -log(best + 1e-3) : 0
    }
}
