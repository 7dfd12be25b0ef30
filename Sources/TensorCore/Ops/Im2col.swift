/// im2col turns a convolution into a GEMM: one column per output pixel, holding the input
/// values its kernel window covers; col2im is its adjoint (used for the input gradient).

/// Columns `columns` (output pixels oh·OW + ow) of the im2col matrix for `channels`:
/// col[(c·KH + i)·KW + j, p − columns.lowerBound] = x[c, oh·sh − top + i, ow·sw − left + j], 0 in the padding.
/// x: (C, H, W), col: (C·KH·KW, columns.count)
func im2col(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
            columns: Range<Int>, channels: Range<Int>) {
    let ld = columns.count, p0 = columns.lowerBound
    let firstRow = p0 / g.ow, lastRow = (columns.upperBound - 1) / g.ow
    for c in channels {
        let plane = x + c * g.hw
        for i in 0..<g.kh {
            let rows = Padding2D.validOutputs(kernelOffset: i, stride: g.sh, before: g.pad.top, inputSize: g.h, outputSize: g.oh)
            for j in 0..<g.kw {
                let dst = col + ((c * g.kh + i) * g.kw + j) * ld - p0  // indexed by output pixel
                let cols = Padding2D.validOutputs(kernelOffset: j, stride: g.sw, before: g.pad.left, inputSize: g.w, outputSize: g.ow)
                for oh in firstRow...lastRow {
                    // this tile's part of output row oh
                    let lo = max(p0 - oh * g.ow, 0), hi = min(columns.upperBound - oh * g.ow, g.ow)
                    let d = dst + oh * g.ow
                    guard rows.contains(oh) else { (d + lo).update(repeating: 0, count: hi - lo); continue }
                    let vlo = min(max(cols.lowerBound, lo), hi), vhi = max(min(cols.upperBound, hi), vlo)
                    if vlo > lo { (d + lo).update(repeating: 0, count: vlo - lo) }
                    if hi > vhi { (d + vhi).update(repeating: 0, count: hi - vhi) }
                    let src = plane + (oh * g.sh - g.pad.top + i) * g.w + (j - g.pad.left)
                    if g.sw == 1 {
                        (d + vlo).update(from: src + vlo, count: vhi - vlo)
                    } else {
                        for ow in vlo..<vhi { d[ow] = src[ow * g.sw] }
                    }
                }
            }
        }
    }
}

/// The whole image's im2col matrix, channels split across the cores. col: (C·KH·KW, OH·OW)
func im2colParallel(_ g: ConvGeometry, x: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>) {
    parallelChunks(g.c, minChunk: max(1, 8192 / max(g.kh * g.kw * g.ohw, 1))) { channels in
        im2col(g, x: x, col: col, columns: 0..<g.ohw, channels: channels)
    }
}

/// Adds each column entry back onto the input position it was read from (the adjoint of im2col).
/// col: (C·KH·KW, OH·OW), x: (C, H, W) accumulated into
func col2im(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, x: UnsafeMutablePointer<Float>, parallel: Bool) {
    let body = { (channels: Range<Int>) in
        for c in channels {
            let plane = x + c * g.hw
            for i in 0..<g.kh {
                let rows = Padding2D.validOutputs(kernelOffset: i, stride: g.sh, before: g.pad.top, inputSize: g.h, outputSize: g.oh)
                for j in 0..<g.kw {
                    let src = col + ((c * g.kh + i) * g.kw + j) * g.ohw
                    let cols = Padding2D.validOutputs(kernelOffset: j, stride: g.sw, before: g.pad.left, inputSize: g.w, outputSize: g.ow)
                    for oh in rows {
                        let s = src + oh * g.ow
                        let d = plane + (oh * g.sh - g.pad.top + i) * g.w + (j - g.pad.left)
                        if g.sw == 1 {
                            for ow in cols { d[ow] += s[ow] }
                        } else {
                            for ow in cols { d[ow * g.sw] += s[ow] }
                        }
                    }
                }
            }
        }
    }
    if parallel { parallelChunks(g.c, minChunk: max(1, 8192 / max(g.kh * g.kw * g.ohw, 1)), body) } else { body(0..<g.c) }
}
