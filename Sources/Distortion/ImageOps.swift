import Foundation
import TensorCore
import TensorIO

/// Small pixel operations the distortions, features and grids share.
extension RGBImage {
    /// A black image.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }

    /// Luma (ITU-R BT.601 weights) in 0...255, row-major H×W.
    public var luma: [Float] {
        var out = [Float](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { p in
            for i in 0..<(width * height) {
                out[i] = 0.299 * Float(p[3 * i]) + 0.587 * Float(p[3 * i + 1]) + 0.114 * Float(p[3 * i + 2])
            }
        }
        return out
    }

    /// Channel `c` of pixel (x, y) with coordinates clamped to the image (edge replication).
    @inline(__always)
    func clampedValue(_ x: Int, _ y: Int, _ c: Int) -> Float {
        let xx = min(max(x, 0), width - 1), yy = min(max(y, 0), height - 1)
        return Float(pixels[(yy * width + xx) * 3 + c])
    }

    /// Bilinear sample at a real position (pixel centres at integers), edges replicated.
    func bilinear(_ x: Double, _ y: Double, _ c: Int) -> Float {
        let x0 = Int(floor(x)), y0 = Int(floor(y))
        let fx = Float(x - Double(x0)), fy = Float(y - Double(y0))
        let top = clampedValue(x0, y0, c) * (1 - fx) + clampedValue(x0 + 1, y0, c) * fx
        let bottom = clampedValue(x0, y0 + 1, c) * (1 - fx) + clampedValue(x0 + 1, y0 + 1, c) * fx
        return top * (1 - fy) + bottom * fy
    }

    /// Resampled to `width`×`height`: box averaging when both sides shrink by whole factors (so a
    /// 256→32 reduction does not alias), half-pixel bilinear otherwise.
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        if newWidth == width && newHeight == height { return self }
        if width % newWidth == 0, height % newHeight == 0 {
            let fx = width / newWidth, fy = height / newHeight
            var out = RGBImage(width: newWidth, height: newHeight)
            let norm = 1 / Float(fx * fy)
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    for c in 0..<3 {
                        var sum: Float = 0
                        for dy in 0..<fy { for dx in 0..<fx { sum += Float(pixels[((y * fy + dy) * width + x * fx + dx) * 3 + c]) } }
                        out.pixels[(y * newWidth + x) * 3 + c] = UInt8(clampingPixel: sum * norm)
                    }
                }
            }
            return out
        }
        let planes = Tensor(uninitialized: [1, 3, height, width])
        for i in 0..<(width * height) { for c in 0..<3 { planes.data[c * width * height + i] = Float(pixels[3 * i + c]) } }
        let r = resizeBilinear(planes, height: newHeight, width: newWidth)
        var out = RGBImage(width: newWidth, height: newHeight)
        for i in 0..<(newWidth * newHeight) {
            for c in 0..<3 { out.pixels[3 * i + c] = UInt8(clampingPixel: r.data[c * newWidth * newHeight + i]) }
        }
        return out
    }
}

extension UInt8 {
    /// Rounds and clamps a float to 0...255 (NaN becomes 0).
    @inline(__always)
    public init(clampingPixel v: Float) {
        self = v.isNaN ? 0 : UInt8(Swift.min(Swift.max(v.rounded(), 0), 255))
    }
}

/// Lays images out in a grid with a gap, all resized to the first image's size (for the
/// "most distorted samples" figure and sample sheets).
public func makeImageGrid(_ images: [RGBImage], columns: Int, gap: Int = 2, background: UInt8 = 255) -> RGBImage {
    precondition(!images.isEmpty && columns > 0, "makeImageGrid needs images and a positive column count")
    let w = images[0].width, h = images[0].height
    let cols = min(columns, images.count), rows = (images.count + cols - 1) / cols
    let gridW = cols * w + (cols + 1) * gap, gridH = rows * h + (rows + 1) * gap
    var grid = RGBImage(width: gridW, height: gridH,
                        pixels: [UInt8](repeating: background, count: gridW * gridH * 3))
    for (i, original) in images.enumerated() {
        let image = original.resized(width: w, height: h)
        let ox = gap + (i % cols) * (w + gap), oy = gap + (i / cols) * (h + gap)
        for y in 0..<h {
            let src = y * w * 3, dst = ((oy + y) * gridW + ox) * 3
            grid.pixels.replaceSubrange(dst..<(dst + w * 3), with: image.pixels[src..<(src + w * 3)])
        }
    }
    return grid
}
