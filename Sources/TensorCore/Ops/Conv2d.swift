import Foundation

/// An elementwise function fused into a kernel's output pass (saves one sweep over memory).
public enum Activation: Sendable, Equatable {
    case none, relu
}

/// 2-D cross-correlation (torch's `conv2d`), NCHW, with fused bias and activation.
///
///     x:      (N, C, H, W)
///     weight: (O, C/groups, KH, KW)
///     bias:   (O) or nil
///     result: (N, O, OH, OW),  OH = (H + top + bottom − KH) / strideH + 1, likewise OW
///
/// How it runs (the Inception network calls this ~100 times per image, so it is the hot path):
/// - groups == C (depthwise, e.g. ConvNeXt's 7x7) → a direct loop per channel plane; a GEMM
///   with one input channel per group would be all overhead.
/// - otherwise the output of each image is cut into tiles of a few hundred pixels; a tile's
///   im2col columns (C/g·KH·KW × tile) fit in the core's L2 cache, and one single-threaded sgemm
///   per group writes the tile straight into the result:
///   y_g[:, tile] (O/g × tile) = W_g (O/g × C/g·KH·KW) · col_g (C/g·KH·KW × tile).
///   1x1, stride 1, no padding needs no columns: the image's (C, H·W) block is the right operand.
/// Both cores take tiles from one queue. Measured on a 2-core Zen (`dimr-eval bench conv`, ratio
/// to the machine's sgemm rate): this beats OpenBLAS's own threads on each image's GEMM after a
/// full-image im2col (3x3 64→64 56x56: 0.62 → 0.75; 1x7 768→192 17x17: 0.88 → 1.0), because the
/// columns stay in cache and one core's im2col overlaps the other's GEMM.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                   padding: Padding2D = .zero, groups: Int = 1, activation: Activation = .none) -> Tensor {
    let g = ConvGeometry(x: x, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups, op: "conv2d")
    let y = Tensor(uninitialized: [g.n, g.o, g.oh, g.ow])
    if g.isDepthwise {
        depthwiseConv2dForward(g, x: x.data, weight: weight.data, bias: bias?.data, y: y.data, activation: activation)
        return y
    }
    conv2dTiles(g, x: x.data, xStride: g.c * g.hw, weight: weight.data, bias: bias?.data, y: y.data, yStride: g.o * g.ohw,
                activation: activation)
    return y
}

/// The same (groups 1), reading channels `input` of a larger tensor and writing into `output`'s
/// channels (Inception's branches; see `ChannelWindow`).
public func conv2d(_ input: ChannelWindow, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                   padding: Padding2D = .zero, activation: Activation = .none, into output: ChannelWindow) {
    let g = ConvGeometry(input: input.shape, weight: weight, bias: bias, stride: stride, padding: padding, groups: 1, op: "conv2d")
    precondition(output.shape == [g.n, g.o, g.oh, g.ow], "conv2d: output window \(output.shape) ≠ \([g.n, g.o, g.oh, g.ow])")
    precondition(!input.overlaps(output), "conv2d: the output window overlaps the input (channels \(input.channels), \(output.channels))")
    conv2dTiles(g, x: input.base, xStride: input.imageStride, weight: weight.data, bias: bias?.data,
                y: output.base, yStride: output.imageStride, activation: activation)
}

/// conv2d's GEMM route; image i's channels start at x + i·xStride and y + i·yStride.
private func conv2dTiles(_ g: ConvGeometry, x xs: UnsafeMutablePointer<Float>, xStride: Int, weight ws: UnsafeMutablePointer<Float>,
                         bias bs: UnsafeMutablePointer<Float>?, y ys: UnsafeMutablePointer<Float>, yStride: Int,
                         activation: Activation) {
    let tile = g.forwardTile
    let tilesPerImage = (g.ohw + tile - 1) / tile
    withSingleThreadedBLAS {
        parallelFor(g.n * tilesPerImage) { item in
            let i = item / tilesPerImage, p0 = item % tilesPerImage * tile, p1 = min(p0 + tile, g.ohw)
            let xi = xs + i * xStride, yi = ys + i * yStride + p0
            Workspace.with(g.isPointwise ? 0 : g.k * (p1 - p0)) { col in
                let b: UnsafeMutablePointer<Float>, ldb: Int
                if g.isPointwise { b = xi + p0; ldb = g.hw } else {
                    im2col(g, x: xi, col: col, columns: p0..<p1, channels: 0..<g.c); b = col; ldb = p1 - p0
                }
                for gr in 0..<g.groups {
                    BLAS.sgemm(m: g.og, n: p1 - p0, k: g.kg, a: ws + gr * g.og * g.kg, lda: g.kg,
                               b: b + gr * g.kg * ldb, ldb: ldb, c: yi + gr * g.og * g.ohw, ldc: g.ohw)
                }
                if bs != nil || activation != .none {
                    biasActivation(yi, rows: 0..<g.o, stride: g.ohw, width: p1 - p0, bias: bs, activation: activation)
                }
            }
        }
    }
}

/// Gradients of `conv2d` (without activation: apply the activation's backward to `gradOutput` first).
public struct Conv2dGradients {
    /// (N, C, H, W), nil when not requested
    public var input: Tensor?
    /// (O, C/groups, KH, KW)
    public var weight: Tensor
    /// (O), nil when the layer has no bias
    public var bias: Tensor?
}

/// Backward of `conv2d`: gradients for the input, the weight and the bias.
///
///     gradOutput: (N, O, OH, OW),  x: (N, C, H, W),  weight: (O, C/groups, KH, KW)
///
/// Per image and group: dW_g += dY_g · col_gᵀ and dcol_g = W_gᵀ · dY_g, then col2im adds dcol
/// back onto the input positions each column came from (padding positions are dropped).
public func conv2dBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, stride: (Int, Int) = (1, 1),
                           padding: Padding2D = .zero, groups: Int = 1, hasBias: Bool = true,
                           needsInputGradient: Bool = true) -> Conv2dGradients {
    let g = ConvGeometry(x: x, weight: weight, bias: nil, stride: stride, padding: padding, groups: groups,
                         op: "conv2dBackward")
    precondition(gradOutput.shape == [g.n, g.o, g.oh, g.ow],
                 "conv2dBackward: gradOutput shape \(gradOutput.shape) ≠ conv output shape \([g.n, g.o, g.oh, g.ow]) for input \(x.shape), weight \(weight.shape)")
    let dW = Tensor(zeros: weight.shape)
    let dX = needsInputGradient ? Tensor(zeros: x.shape) : nil
    let dB = hasBias ? biasGradient(gradOutput, channels: g.o) : nil
    let dys = gradOutput.data, xs = x.data, ws = weight.data, dws = dW.data, dxs = dX?.data

    if g.isDepthwise {
        depthwiseConv2dBackward(g, x: xs, weight: ws, dy: dys, dx: dxs, dw: dws)
        return Conv2dGradients(input: dX, weight: dW, bias: dB)
    }
    // Images split across the cores, each worker with its own dW accumulator and single-threaded
    // BLAS (OpenBLAS's spinning threads lose badly when the machine is shared); a batch smaller
    // than the core count runs image by image with OpenBLAS's threads instead.
    let workers = min(coreCount, g.n)
    if workers > 1 {
        Workspace.with((workers - 1) * weight.count) { partials in
            withSingleThreadedBLAS {
                parallelFor(workers) { wk in
                    let acc = wk == 0 ? dws : partials + (wk - 1) * weight.count
                    if wk > 0 { acc.update(repeating: 0, count: weight.count) }
                    let images = g.n * wk / workers..<g.n * (wk + 1) / workers
                    convBackwardImages(g, images: images, x: xs, weight: ws, dy: dys, dx: dxs, dw: acc, parallelInside: false)
                }
            }
            for wk in 1..<workers {
                let p = partials + (wk - 1) * weight.count
                for j in 0..<weight.count { dws[j] += p[j] }
            }
        }
    } else {
        convBackwardImages(g, images: 0..<g.n, x: xs, weight: ws, dy: dys, dx: dxs, dw: dws, parallelInside: true)
    }
    return Conv2dGradients(input: dX, weight: dW, bias: dB)
}

/// Per image and group: dW_g += dY_g · col_gᵀ; dcol_g = W_gᵀ · dY_g, then col2im into dX.
private func convBackwardImages(_ g: ConvGeometry, images: Range<Int>, x xs: UnsafeMutablePointer<Float>,
                                weight ws: UnsafeMutablePointer<Float>, dy dys: UnsafeMutablePointer<Float>,
                                dx dxs: UnsafeMutablePointer<Float>?, dw dws: UnsafeMutablePointer<Float>,
                                parallelInside: Bool) {
    let colCount = g.isPointwise ? 0 : g.k * g.ohw
    Workspace.with(colCount) { col in
        Workspace.with(dxs != nil && !g.isPointwise ? g.k * g.ohw : 0) { dcol in
            for i in images {
                let xi = xs + i * g.c * g.hw, dyi = dys + i * g.o * g.ohw
                let cols: UnsafePointer<Float>
                if g.isPointwise { cols = UnsafePointer(xi) } else {
                    if parallelInside { im2colParallel(g, x: xi, col: col) } else {
                        im2col(g, x: xi, col: col, columns: 0..<g.ohw, channels: 0..<g.c)
                    }
                    cols = UnsafePointer(col)
                }
                let dxi = dxs.map { $0 + i * g.c * g.hw }
                for gr in 0..<g.groups {
                    let dyg = dyi + gr * g.og * g.ohw
                    // dW_g (og × kg) += dY_g (og × ohw) · col_gᵀ (ohw × kg)
                    BLAS.sgemm(transB: true, m: g.og, n: g.kg, k: g.ohw, a: dyg, lda: g.ohw,
                               b: cols + gr * g.kg * g.ohw, ldb: g.ohw, beta: 1, c: dws + gr * g.og * g.kg, ldc: g.kg)
                    guard let dxi else { continue }
                    // dcol_g (kg × ohw) = W_gᵀ (kg × og) · dY_g (og × ohw); pointwise: dcol is dX itself
                    let target = g.isPointwise ? dxi + gr * g.kg * g.hw : dcol + gr * g.kg * g.ohw
                    BLAS.sgemm(transA: true, m: g.kg, n: g.ohw, k: g.og, a: ws + gr * g.og * g.kg, lda: g.kg,
                               b: dyg, ldb: g.ohw, c: target, ldc: g.ohw)
                }
                if let dxi, !g.isPointwise { col2im(g, col: dcol, x: dxi, parallel: parallelInside) }
            }
        }
    }
}

/// Sum of `gradOutput` (N, O, …) over every axis but 1 → (O).
func biasGradient(_ gradOutput: Tensor, channels o: Int) -> Tensor {
    let n = gradOutput.shape[0], plane = gradOutput.count / max(n * o, 1)
    let db = Tensor(zeros: [o])
    let dy = gradOutput.data, d = db.data
    parallelChunks(o, minChunk: 16) { range in
        for c in range {
            var s: Float = 0
            for i in 0..<n {
                let p = dy + (i * o + c) * plane
                for j in 0..<plane { s += p[j] }
            }
            d[c] = s
        }
    }
    return db
}

// MARK: - Geometry

/// Shapes of one convolution, checked once and shared by the forward and backward passes.
struct ConvGeometry {
    let n, c, h, w: Int          // input
    let o, kh, kw: Int           // weight
    let sh, sw: Int              // stride
    let pad: Padding2D
    let groups: Int
    let oh, ow: Int              // output

    var hw: Int { h * w }
    var ohw: Int { oh * ow }
    var cg: Int { c / groups }   // input channels per group
    var og: Int { o / groups }   // output channels per group
    var kg: Int { cg * kh * kw } // im2col rows per group (GEMM depth)
    var k: Int { c * kh * kw }   // im2col rows
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && pad == .zero }
    var isDepthwise: Bool { cg == 1 && groups > 1 }

    /// Output pixels per forward tile: the tile's columns (K × tile floats) should stay in the
    /// L2 cache, but narrow GEMMs lose efficiency (OpenBLAS packs the whole weight matrix for
    /// each call), and every core needs a few tiles to balance the load.
    var forwardTile: Int {
        // 1x1 tiles read the input in place, so only GEMM width matters for them
        var tile = isPointwise ? min(2048, ohw) : min(max(tileColumnFloats / max(k, 1), minTile), ohw)
        let wanted = 4 * coreCount  // tiles in total, so no core idles at the end
        if n * ((ohw + tile - 1) / tile) < wanted {
            tile = min(max(16, (n * ohw + wanted - 1) / wanted), ohw)
        }
        let perImage = (ohw + tile - 1) / tile
        return (ohw + perImage - 1) / perImage  // equal tiles, no narrow remainder
    }

    init(x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: Padding2D, groups: Int, op: String) {
        self.init(input: x.shape, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups, op: op)
    }

    init(input shape: [Int], weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: Padding2D, groups: Int, op: String) {
        precondition(shape.count == 4, "\(op): input must be (N, C, H, W), got shape \(shape)")
        precondition(weight.rank == 4, "\(op): weight must be (O, C/groups, KH, KW), got shape \(weight.shape)")
        precondition(groups >= 1, "\(op): groups must be ≥ 1, got \(groups)")
        n = shape[0]; c = shape[1]; h = shape[2]; w = shape[3]
        o = weight.shape[0]; kh = weight.shape[2]; kw = weight.shape[3]
        precondition(c % groups == 0 && o % groups == 0,
                     "\(op): input channels \(c) and output channels \(o) must both divide by groups \(groups) (input \(shape), weight \(weight.shape))")
        precondition(weight.shape[1] == c / groups,
                     "\(op): weight \(weight.shape) needs \(c / groups) input channels per group for input \(shape) with groups \(groups)")
        if let bias { precondition(bias.shape == [o], "\(op): bias shape \(bias.shape) ≠ [\(o)] for weight \(weight.shape)") }
        sh = stride.0; sw = stride.1; pad = padding; self.groups = groups
        (oh, ow) = padding.outputSize(height: h, width: w, kernel: (kh, kw), stride: stride)
    }
}

/// See `ConvGeometry.forwardTile`.
/// Measured on the 2-core Zen (L2 1 MB per core), batch 16, ratio to the 2048³ sgemm rate:
/// 64K floats/128 min: 0.61 (3x3 56²) 0.60 (1x7 17²); 256K/512: 0.75 and 1.02; 1M/128: 0.62 and 0.44.
let tileColumnFloats = 262_144  // 1 MB of columns
let minTile = 512               // narrower GEMMs spend too long packing the weights for each tile

/// y[r, 0..<width] = act(y[r, 0..<width] + bias[r]) for r in `rows`; row r starts at y + r·stride.
@inline(__always)
func biasActivation(_ y: UnsafeMutablePointer<Float>, rows: Range<Int>, stride: Int, width: Int,
                    bias: UnsafeMutablePointer<Float>?, activation: Activation) {
    for r in rows {
        let p = y + r * stride
        storeRow(p, to: p, count: width, bias: bias?[r] ?? 0, activation: activation)
    }
}
