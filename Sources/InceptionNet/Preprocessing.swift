import Foundation
import TensorCore
import TensorIO

/// Inception's input side: 299×299, values in [-1, 1].
public let inceptionInputSize = 299

/// uint8 HWC images of any sizes → the network's input (N, 3, 299, 299), resized and scaled the
/// way the chosen tool does it. Images are processed in parallel, one per task.
public func inceptionInput(_ images: [RGBImage], mode: ResizeMode) throws -> Tensor {
    let s = inceptionInputSize, plane = s * s
    for (i, image) in images.enumerated() {
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3 else {
            throw FormatError(file: "<images>", field: "image \(i)", expected: "a non-empty RGB image with width·height·3 bytes",
                              found: "\(image.width)x\(image.height) with \(image.pixels.count) bytes")
        }
    }
    let out = Tensor(uninitialized: [images.count, 3, s, s])
    let base = UncheckedSendable(out.data)
    parallelFor(images.count) { i in
        let dst = base.value + i * 3 * plane
        switch mode {
        case .adm: admPreprocess(images[i], into: dst)
        case .pytorch: pytorchFIDPreprocess(images[i], into: dst)
        case .clean: cleanFIDPreprocess(images[i], into: dst)
        }
    }
    return out
}

/// One image's channels as float planes (3, H, W), scaled by `scale`.
private func floatPlanes(_ image: RGBImage, scale: Float = 1) -> [Float] {
    let hw = image.width * image.height
    var planes = [Float](repeating: 0, count: 3 * hw)
    image.pixels.withUnsafeBufferPointer { px in
        for p in 0..<hw {
            planes[p] = Float(px[3 * p]) * scale
            planes[hw + p] = Float(px[3 * p + 1]) * scale
            planes[2 * hw + p] = Float(px[3 * p + 2]) * scale
        }
    }
    return planes
}

// MARK: - ADM evaluator (TensorFlow 1 graph)

/// The ADM evaluator feeds uint8 images to the 2015 TF graph, whose first op is
/// `tf.image.resize_bilinear(align_corners=False)` of TF 1.x (skipped at 299×299), then
/// (x − 128) / 128. TF 1's legacy bilinear maps output o to source o·in/out — no half-pixel
/// offset, no antialiasing — and clamps the upper neighbour at the last row/column.
/// Float operations follow torch-fidelity's bit-exact port (`interpolate_bilinear_2d_like_tensorflow1x`).
func admPreprocess(_ image: RGBImage, into dst: UnsafeMutablePointer<Float>) {
    let s = inceptionInputSize, h = image.height, w = image.width
    let planes = floatPlanes(image)
    if h == s && w == s {
        for j in 0..<(3 * s * s) { dst[j] = (planes[j] - 128) / 128 }
        return
    }
    let rows = legacyTensorFlowBilinearTaps(input: h, output: s)
    let cols = legacyTensorFlowBilinearTaps(input: w, output: s)
    planes.withUnsafeBufferPointer { src in
        for c in 0..<3 {
            let plane = src.baseAddress! + c * h * w, out = dst + c * s * s
            for oy in 0..<s {
                let r0 = plane + rows.low[oy] * w, r1 = plane + rows.high[oy] * w, dy = rows.fraction[oy]
                for ox in 0..<s {
                    let x0 = cols.low[ox], x1 = cols.high[ox], dx = cols.fraction[ox]
                    let top = r0[x0] + (r0[x1] - r0[x0]) * dx
                    let bottom = r1[x0] + (r1[x1] - r1[x0]) * dx
                    let v = top + (bottom - top) * dy
                    out[oy * s + ox] = (v - 128) / 128
                }
            }
        }
    }
}

/// Per output index: source = o·(in/out) in float32, low = ⌊source⌋, high = min(low + 1, in − 1).
func legacyTensorFlowBilinearTaps(input: Int, output: Int) -> (low: [Int], high: [Int], fraction: [Float]) {
    let scale = Float(Double(input) / Double(output))  // Python float, then a float32 tensor
    var low = [Int](), high = [Int](), fraction = [Float]()
    for o in 0..<output {
        let source = Float(o) * scale
        let l = Int(source)
        low.append(l); high.append(min(l + 1, input - 1)); fraction.append(source - Float(l))
    }
    return (low, high, fraction)
}

// MARK: - pytorch-fid

/// pytorch-fid: ToTensor (x/255), `F.interpolate(size=299, mode="bilinear", align_corners=False)`
/// (a no-op at 299), then 2x − 1.
func pytorchFIDPreprocess(_ image: RGBImage, into dst: UnsafeMutablePointer<Float>) {
    let s = inceptionInputSize
    let x = Tensor(shape: [1, 3, image.height, image.width], values: floatPlanes(image, scale: 1))
    for j in 0..<x.count { x.data[j] = x.data[j] / 255 }
    let y = (image.height == s && image.width == s) ? x : resizeBilinear(x, height: s, width: s, alignCorners: false)
    for j in 0..<(3 * s * s) { dst[j] = 2 * y.data[j] - 1 }
}

// MARK: - clean-fid

/// clean-fid ("clean" mode): each channel as a float32 PIL image, `resize((299, 299), BICUBIC)`
/// — PIL's antialiased bicubic (a = −0.5, support widened by the downscale factor), horizontal
/// pass then vertical, double accumulation stored as float32 — clipped to [0, 255], then
/// (x − 128) / 128 inside clean-fid's Inception.
func cleanFIDPreprocess(_ image: RGBImage, into dst: UnsafeMutablePointer<Float>) {
    let s = inceptionInputSize, h = image.height, w = image.width
    let planes = floatPlanes(image)
    let horizontal = w != s ? PILBicubicTaps(input: w, output: s) : nil
    let vertical = h != s ? PILBicubicTaps(input: h, output: s) : nil
    for c in 0..<3 {
        var plane = Array(planes[(c * h * w)..<((c + 1) * h * w)])
        var pw = w, ph = h
        if let taps = horizontal {
            var out = [Float](repeating: 0, count: ph * s)
            for y in 0..<ph {
                for x in 0..<s {
                    var acc = 0.0
                    let start = taps.start[x]
                    for (k, weight) in taps.weights[x].enumerated() { acc += Double(plane[y * pw + start + k]) * weight }
                    out[y * s + x] = Float(acc)
                }
            }
            plane = out; pw = s
        }
        if let taps = vertical {
            var out = [Float](repeating: 0, count: s * pw)
            for y in 0..<s {
                let start = taps.start[y]
                for x in 0..<pw {
                    var acc = 0.0
                    for (k, weight) in taps.weights[y].enumerated() { acc += Double(plane[(start + k) * pw + x]) * weight }
                    out[y * pw + x] = Float(acc)
                }
            }
            plane = out; ph = s
        }
        let o = dst + c * s * s
        for j in 0..<(s * s) { o[j] = (min(max(plane[j], 0), 255) - 128) / 128 }
    }
}

/// PIL's `precompute_coeffs` for the bicubic filter (Resample.c): normalised double weights.
struct PILBicubicTaps {
    var start: [Int] = []
    var weights: [[Double]] = []

    init(input: Int, output: Int) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        for o in 0..<output {
            let center = (Double(o) + 0.5) * scale
            let ss = 1 / filterScale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center - (-support) + 0.5), input)
            var k = (lo..<hi).map { PILBicubicTaps.bicubic((Double($0) - center + 0.5) * ss) }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            start.append(lo); weights.append(k)
        }
    }

    static func bicubic(_ v: Double) -> Double {
        let a = -0.5, x = abs(v)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }
}
