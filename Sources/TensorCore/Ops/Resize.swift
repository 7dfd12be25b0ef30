/// Bilinear resize of the spatial axes, as torch's `F.interpolate(mode="bilinear", antialias=False)`
/// with an explicit output size.
///
///     x: (N, C, H, W) → (N, C, height, width)
/// alignCorners false (torch's default): half-pixel centres, src = (dst + ½)·H/height − ½, clamped
/// at 0, so downsizing does no low-pass filtering. alignCorners true: corners map to corners.
public func resizeBilinear(_ x: Tensor, height: Int, width: Int, alignCorners: Bool = false) -> Tensor {
    precondition(x.rank == 4, "resizeBilinear: input must be (N, C, H, W), got shape \(x.shape)")
    precondition(height > 0 && width > 0, "resizeBilinear: output size \(height)x\(width) must be positive")
    let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    precondition(h > 0 && w > 0, "resizeBilinear: input \(x.shape) has an empty spatial axis")
    let rows = BilinearTaps(input: h, output: height, alignCorners: alignCorners)
    let cols = BilinearTaps(input: w, output: width, alignCorners: alignCorners)
    let y = Tensor(uninitialized: [x.shape[0], x.shape[1], height, width])
    let xs = x.data, ys = y.data
    parallelChunks(planes, minChunk: max(1, 16384 / (height * width))) { range in
        for p in range {
            let src = xs + p * h * w, dst = ys + p * height * width
            for oh in 0..<height {
                let r0 = src + rows.i0[oh] * w, r1 = src + rows.i1[oh] * w
                let a0 = rows.l0[oh], a1 = rows.l1[oh]
                let out = dst + oh * width
                for ow in 0..<width {
                    let j0 = cols.i0[ow], j1 = cols.i1[ow], b0 = cols.l0[ow], b1 = cols.l1[ow]
                    // same association as torch's CPU kernel, so results match to float rounding
                    out[ow] = a0 * (b0 * r0[j0] + b1 * r0[j1]) + a1 * (b0 * r1[j0] + b1 * r1[j1])
                }
            }
        }
    }
    return y
}

/// For each output index along one axis: the two input indices and their weights.
private struct BilinearTaps {
    var i0: [Int], i1: [Int], l0: [Float], l1: [Float]

    init(input: Int, output: Int, alignCorners: Bool) {
        i0 = []; i1 = []; l0 = []; l1 = []
        // torch computes the scale and source index in float32 for float tensors
        let scale: Float = alignCorners ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0)
                                        : Float(input) / Float(output)
        for o in 0..<output {
            let src = alignCorners ? scale * Float(o) : max(scale * (Float(o) + 0.5) - 0.5, 0)
            let a = min(Int(src), input - 1)
            let b = a + (a < input - 1 ? 1 : 0)
            let frac = src - Float(a)
            i0.append(a); i1.append(b); l1.append(frac); l0.append(1 - frac)
        }
    }
}
