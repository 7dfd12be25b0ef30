/// Depthwise convolution (one input channel per group, as in ConvNeXt's 7x7 and MobileNet):
/// direct loops, since a GEMM per channel would have a depth of KH·KW and be all overhead.
/// Called by `conv2d` / `conv2dBackward` when groups == C.

/// Backward of a depthwise conv; dw and dx (when asked for) must be zero on entry.
func depthwiseConv2dBackward(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, weight: UnsafeMutablePointer<Float>,
                             dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>) {
    let common = g.og == 1 && g.sh == 1 && g.sw == 1
        && g.pad.top < g.kh && g.pad.bottom < g.kh && g.pad.left < g.kw && g.pad.right < g.kw
    guard common else {
        depthwiseBackwardGeneral(g, x: x, weight: weight, dy: dy, dx: dx, dw: dw)
        return
    }
    // The common case (ConvNeXt): dX is a depthwise conv of dY with the kernel flipped, so it
    // reuses the fast forward kernel.
    depthwiseWeightGradientStride1(g, x: x, dy: dy, dw: dw)
    if let dx {
        let taps = g.kh * g.kw
        let flipped = Tensor(uninitialized: [g.o, 1, g.kh, g.kw])
        for oc in 0..<g.o { for t in 0..<taps { flipped.data[oc * taps + t] = weight[oc * taps + taps - 1 - t] } }
        depthwiseConv2dForward(ConvGeometry(inputGradientOfDepthwise: g), x: dy, weight: flipped.data, bias: nil,
                               y: dx, activation: .none)
    }
}

/// Direct loops, one output plane at a time. Output channel oc reads input channel oc / (O/groups).
/// The input plane is first copied into a zero-bordered scratch plane, so the inner loops need no
/// bounds checks; with stride 1, eight neighbouring outputs accumulate all KH·KW taps in
/// registers and are stored once (the tap-by-tap loop that re-reads the output plane ran 2.5× slower).
func depthwiseConv2dForward(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, weight: UnsafeMutablePointer<Float>,
                            bias: UnsafeMutablePointer<Float>?, y: UnsafeMutablePointer<Float>, activation: Activation) {
    let ph = g.h + g.pad.top + g.pad.bottom, pw = g.w + g.pad.left + g.pad.right
    parallelChunks(g.n * g.o, minChunk: max(1, 4096 / max(g.ohw * g.kh * g.kw, 1))) { planes in
        Workspace.with(ph * pw) { padded in
            padded.update(repeating: 0, count: ph * pw)
            for p in planes {
                let i = p / g.o, oc = p % g.o
                let src = x + (i * g.c + oc / g.og) * g.hw, dst = y + p * g.ohw, wk = weight + oc * g.kh * g.kw
                // borders stay zero from the fill above; only the interior changes between planes
                for r in 0..<g.h { (padded + (r + g.pad.top) * pw + g.pad.left).update(from: src + r * g.w, count: g.w) }
                let b = bias?[oc] ?? 0
                for oh in 0..<g.oh {
                    let out = dst + oh * g.ow, top = padded + oh * g.sh * pw
                    var ow = 0
                    if g.sw == 1 {
                        while ow + 8 <= g.ow {
                            var acc = SIMD8<Float>(repeating: b)
                            for ki in 0..<g.kh {
                                let row = UnsafeRawPointer(top + ki * pw + ow), wr = wk + ki * g.kw
                                for kj in 0..<g.kw {
                                    acc += row.loadUnaligned(fromByteOffset: kj * 4, as: SIMD8<Float>.self) * wr[kj]
                                }
                            }
                            UnsafeMutableRawPointer(out + ow).storeBytes(of: acc, as: SIMD8<Float>.self)
                            ow += 8
                        }
                    }
                    for o in ow..<g.ow {
                        var acc = b
                        for ki in 0..<g.kh {
                            let row = top + ki * pw + o * g.sw, wr = wk + ki * g.kw
                            for kj in 0..<g.kw { acc += row[kj] * wr[kj] }
                        }
                        out[o] = acc
                    }
                }
                if activation == .relu { for q in 0..<g.ohw { dst[q] = max(dst[q], 0) } }
            }
        }
    }
}

/// dW[c, ki, kj] = Σ_n Σ_oh,ow dY[n, c, oh, ow] · x[n, c, oh − top + ki, ow − left + kj], stride 1,
/// one output channel per input channel. Each tap is a dot product of the dY plane with a shifted
/// window of the zero-bordered x plane, eight lanes at a time. Parallel over channels.
private func depthwiseWeightGradientStride1(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>,
                                            dy: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>) {
    let ph = g.h + g.pad.top + g.pad.bottom, pw = g.w + g.pad.left + g.pad.right, taps = g.kh * g.kw
    parallelChunks(g.c) { channels in
        Workspace.with(ph * pw) { padded in
            padded.update(repeating: 0, count: ph * pw)
            for c in channels {
                var sums = [Double](repeating: 0, count: taps)
                for i in 0..<g.n {
                    let src = x + (i * g.c + c) * g.hw, grad = dy + (i * g.o + c) * g.ohw
                    for r in 0..<g.h { (padded + (r + g.pad.top) * pw + g.pad.left).update(from: src + r * g.w, count: g.w) }
                    for ki in 0..<g.kh {
                        for kj in 0..<g.kw {
                            var acc = SIMD8<Float>(repeating: 0)
                            var tail: Float = 0
                            for oh in 0..<g.oh {
                                let row = padded + (oh + ki) * pw + kj, gr = grad + oh * g.ow
                                var ow = 0
                                while ow + 8 <= g.ow {
                                    acc += UnsafeRawPointer(gr + ow).loadUnaligned(as: SIMD8<Float>.self)
                                        * UnsafeRawPointer(row + ow).loadUnaligned(as: SIMD8<Float>.self)
                                    ow += 8
                                }
                                while ow < g.ow { tail += gr[ow] * row[ow]; ow += 1 }
                            }
                            sums[ki * g.kw + kj] += Double(acc.sum() + tail)
                        }
                    }
                }
                for t in 0..<taps { dw[c * taps + t] = Float(sums[t]) }
            }
        }
    }
}

/// Parallel over input channels: each worker owns dx[:, c] and dW of the output channels reading c,
/// so no two workers write the same memory.
private func depthwiseBackwardGeneral(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, weight: UnsafeMutablePointer<Float>,
                                      dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>) {
    parallelChunks(g.c) { channels in
        for c in channels {
            for oc in c * g.og..<(c + 1) * g.og {
                let wk = weight + oc * g.kh * g.kw, dwk = dw + oc * g.kh * g.kw
                for i in 0..<g.n {
                    let src = x + (i * g.c + c) * g.hw, dsrc = dx.map { $0 + (i * g.c + c) * g.hw }
                    let grad = dy + (i * g.o + oc) * g.ohw
                    for ki in 0..<g.kh {
                        let rows = Padding2D.validOutputs(kernelOffset: ki, stride: g.sh, before: g.pad.top, inputSize: g.h, outputSize: g.oh)
                        for kj in 0..<g.kw {
                            let wv = wk[ki * g.kw + kj]
                            let cols = Padding2D.validOutputs(kernelOffset: kj, stride: g.sw, before: g.pad.left, inputSize: g.w, outputSize: g.ow)
                            var acc: Float = 0
                            for oh in rows {
                                let gr = grad + oh * g.ow
                                let offset = (oh * g.sh - g.pad.top + ki) * g.w + (kj - g.pad.left)
                                let s = src + offset
                                for ow in cols { acc += gr[ow] * s[ow * g.sw] }
                                if let dsrc {
                                    let d = dsrc + offset
                                    for ow in cols { d[ow * g.sw] += wv * gr[ow] }
                                }
                            }
                            dwk[ki * g.kw + kj] += acc
                        }
                    }
                }
            }
        }
    }
}

extension ConvGeometry {
    /// The stride-1 depthwise conv that maps dY (N, C, OH, OW) to dX (N, C, H, W): same kernel
    /// flipped, padding KH−1−top above (and so on), which gives back H×W.
    init(inputGradientOfDepthwise g: ConvGeometry) {
        n = g.n; c = g.o; h = g.oh; w = g.ow; o = g.c; kh = g.kh; kw = g.kw; sh = 1; sw = 1; groups = g.groups
        pad = Padding2D(top: g.kh - 1 - g.pad.top, bottom: g.kh - 1 - g.pad.bottom,
                        left: g.kw - 1 - g.pad.left, right: g.kw - 1 - g.pad.right)
        (oh, ow) = (g.h, g.w)
    }
}
