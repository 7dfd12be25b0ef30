/// Max pooling over the spatial axes, NCHW, floor mode. Padding positions never win (they are −∞).
///
///     x: (N, C, H, W) → (N, C, OH, OW),  OH = (H + top + bottom − KH) / strideH + 1
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero) -> Tensor {
    let p = PoolGeometry(x, kernel: kernel, stride: stride, padding: padding, op: "maxPool2d")
    let y = Tensor(uninitialized: [p.n, p.c, p.oh, p.ow])
    maxPool2d(x, kernel: kernel, stride: stride, padding: padding, into: ChannelWindow(y))
    return y
}

/// The same, writing into `output`'s channels of a larger tensor (Inception's pool branches).
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero, into output: ChannelWindow) {
    let p = PoolGeometry(x, kernel: kernel, stride: stride, padding: padding, op: "maxPool2d")
    precondition(output.shape == [p.n, p.c, p.oh, p.ow], "maxPool2d: output window \(output.shape) ≠ \([p.n, p.c, p.oh, p.ow])")
    let xs = x.data, ys = output.base, yStride = output.imageStride
    // output columns whose window lies inside the row
    let interior = min(ceilDiv(p.pad.left, p.sw), p.ow)..<max(min(p.ow, floorDiv(p.w - p.kw + p.pad.left, p.sw) + 1), 0)
    // Separable: the max across each window's columns for every input row (rowMax: H × OW), then
    // the max of KH such rows, a contiguous pass over OW. Same result (max is exact), fewer
    // comparisons, and the second pass vectorises.
    parallelChunks(p.n * p.c, minChunk: max(1, 4096 / max(p.oh * p.ow * p.kh * p.kw, 1))) { planes in
        Workspace.with(p.h * p.ow) { rowMax in
            for plane in planes {
                let src = xs + plane * p.h * p.w, dst = ys + plane / p.c * yStride + plane % p.c * p.oh * p.ow
                for ih in 0..<p.h {
                    let r = src + ih * p.w, out = rowMax + ih * p.ow
                    func clipped(_ ow: Int) {
                        var m = -Float.infinity
                        for iw in p.cols(ow) { m = max(m, r[iw]) }
                        out[ow] = m
                    }
                    for ow in 0..<interior.lowerBound { clipped(ow) }
                    if p.kw == 3 {  // Inception's windows, without range checks or branches
                        let start = r - p.pad.left
                        for ow in interior {
                            let q = start + ow * p.sw
                            out[ow] = max(max(q[0], q[1]), q[2])
                        }
                    } else {
                        for ow in interior { clipped(ow) }
                    }
                    for ow in interior.upperBound..<p.ow { clipped(ow) }
                }
                for oh in 0..<p.oh {
                    let out = dst + oh * p.ow
                    out.update(repeating: -Float.infinity, count: p.ow)
                    for ih in p.rows(oh) {
                        let r = rowMax + ih * p.ow
                        for ow in 0..<p.ow { out[ow] = max(out[ow], r[ow]) }
                    }
                }
            }
        }
    }
}

/// Average pooling over the spatial axes, NCHW, floor mode.
///
///     x: (N, C, H, W) → (N, C, OH, OW)
/// countIncludePad: true divides by KH·KW (padding counts as zeros, torch's default);
/// false divides by the number of real input positions in the window — what TensorFlow's
/// Inception does, and why pytorch-fid's FID Inception blocks pass `count_include_pad=False`.
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero,
                      countIncludePad: Bool) -> Tensor {
    let p = PoolGeometry(x, kernel: kernel, stride: stride, padding: padding, op: "avgPool2d")
    let y = Tensor(uninitialized: [p.n, p.c, p.oh, p.ow])
    let xs = x.data, ys = y.data
    parallelChunks(p.n * p.c, minChunk: max(1, 4096 / max(p.oh * p.ow * p.kh * p.kw, 1))) { planes in
        for plane in planes {
            let src = xs + plane * p.h * p.w, dst = ys + plane * p.oh * p.ow
            for oh in 0..<p.oh {
                let rows = p.rows(oh)
                for ow in 0..<p.ow {
                    let cols = p.cols(ow)
                    var s: Float = 0
                    for ih in rows { let r = src + ih * p.w; for iw in cols { s += r[iw] } }
                    let divisor = countIncludePad ? p.kh * p.kw : rows.count * cols.count
                    dst[oh * p.ow + ow] = s / Float(divisor)
                }
            }
        }
    }
    return y
}

/// Mean over the spatial axes (torch's `adaptive_avg_pool2d(x, 1)`).
///
///     x: (N, C, H, W) → (N, C, 1, 1)
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "globalAvgPool2d: input must be (N, C, H, W), got shape \(x.shape)")
    let planes = x.shape[0] * x.shape[1], hw = x.shape[2] * x.shape[3]
    precondition(hw > 0, "globalAvgPool2d: empty spatial size in input \(x.shape)")
    let y = Tensor(uninitialized: [x.shape[0], x.shape[1], 1, 1])
    let xs = x.data, ys = y.data
    parallelChunks(planes, minChunk: max(1, 16384 / hw)) { range in
        for plane in range {
            let src = xs + plane * hw
            var s: Float = 0
            for j in 0..<hw { s += src[j] }
            ys[plane] = s / Float(hw)
        }
    }
    return y
}

/// Shapes of one pooling call and, per output position, the window's in-bounds input range.
private struct PoolGeometry {
    let n, c, h, w, kh, kw, sh, sw, oh, ow: Int
    let pad: Padding2D

    init(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, op: String) {
        precondition(x.rank == 4, "\(op): input must be (N, C, H, W), got shape \(x.shape)")
        n = x.shape[0]; c = x.shape[1]; h = x.shape[2]; w = x.shape[3]
        kh = kernel.0; kw = kernel.1; sh = stride.0; sw = stride.1; pad = padding
        // Every window must hold at least one real input position (torch requires pad ≤ kernel/2).
        precondition(padding.top < kh && padding.bottom < kh && padding.left < kw && padding.right < kw,
                     "\(op): \(padding) must be smaller than kernel \(kernel) on every side (input \(x.shape))")
        (oh, ow) = padding.outputSize(height: h, width: w, kernel: kernel, stride: stride)
    }

    @inline(__always) func rows(_ o: Int) -> Range<Int> {
        let start = o * sh - pad.top
        return max(start, 0)..<min(start + kh, h)
    }

    @inline(__always) func cols(_ o: Int) -> Range<Int> {
        let start = o * sw - pad.left
        return max(start, 0)..<min(start + kw, w)
    }
}
