import Foundation

/// 3×3, stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016).
///
/// Why: a GEMM-based 3×3 layer spends 9 multiply-adds per (output pixel, input channel, output
/// channel); F(4×4, 3×3) computes a 4×4 output tile from a 6×6 input tile with 36, i.e. 2.25 per
/// pixel — 4× fewer. 3×3 stride-1 layers are 36% of the FID Inception's multiply-adds and the
/// machine's sgemm rate caps the GEMM route (see `dimr-eval bench inception`).
///
/// For each output tile t, input channel c, output channel o (ξ = one of the 6×6 positions):
///
///     V[ξ][c][t] = (Bᵀ d_{c,t} B)[ξ]       input transform of the 6×6 patch d
///     U[ξ][o][c] = (G g_{o,c} Gᵀ)[ξ]       filter transform, once per weight (`Winograd3x3Filter`)
///     M[ξ]       = U[ξ] · V[ξ]             36 GEMMs, (O × C) · (C × tiles)
///     y_{o,t}    = Aᵀ M_{o,t} A            output transform of the 6×6 result → 4×4 pixels
///
/// Both transforms are separable: a pass that combines 6 rows elementwise (contiguous, vectorised)
/// and a pass along each row with stride 4 between tiles. Tiles are processed in chunks of whole
/// tile rows (across images of the batch), each chunk on one core with single-threaded BLAS.
///
/// Accuracy: the transforms multiply by up to 8 and the filter transform divides by 24, so results
/// differ from direct convolution by rounding of order 1e-6 relative to the layer's output scale
/// (checked in `ConvTests`; the whole network against PyTorch in `InceptionNetTests`).
public struct Winograd3x3Filter {
    /// (36, O, C): U[ξ] for ξ = 6·i + j, computed in Float64 and rounded once.
    public let transformed: Tensor
    public var outputChannels: Int { transformed.shape[1] }
    public var inputChannels: Int { transformed.shape[2] }

    /// weight: (O, C, 3, 3), as for `conv2d` with groups 1.
    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "Winograd3x3Filter: weight must be (O, C, 3, 3), got shape \(weight.shape)")
        let o = weight.shape[0], c = weight.shape[1]
        transformed = Tensor(zeros: [36, o, c])
        let w = weight.data, u = transformed.data
        for oc in 0..<(o * c) {
            let g = w + oc * 9
            // Gg (6×3), then (Gg)Gᵀ (6×6)
            var gg = [Double](repeating: 0, count: 18)
            for i in 0..<6 {
                for k in 0..<3 {
                    var s = 0.0
                    for r in 0..<3 { s += winogradG[i][r] * Double(g[r * 3 + k]) }
                    gg[i * 3 + k] = s
                }
            }
            for i in 0..<6 {
                for j in 0..<6 {
                    var s = 0.0
                    for k in 0..<3 { s += gg[i * 3 + k] * winogradG[j][k] }
                    u[(i * 6 + j) * o * c + oc] = Float(s)
                }
            }
        }
    }
}

/// G of F(4×4, 3×3) (6×3), interpolation points 0, ±1, ±2, ∞.
private let winogradG: [[Double]] = [
    [1.0 / 4, 0, 0],
    [-1.0 / 6, -1.0 / 6, -1.0 / 6],
    [-1.0 / 6, 1.0 / 6, -1.0 / 6],
    [1.0 / 24, 1.0 / 12, 1.0 / 6],
    [1.0 / 24, -1.0 / 12, 1.0 / 6],
    [0, 0, 1],
]

/// `conv2d(x, weight:, bias:, stride: (1, 1), padding:, activation:)` for a 3×3 weight, computed
/// with Winograd F(4×4, 3×3); `filter` is the weight transformed once.
///
///     x: (N, C, H, W) → (N, O, H + top + bottom − 2, W + left + right − 2)
public func winogradConv3x3(_ x: Tensor, filter: Winograd3x3Filter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none) -> Tensor {
    withNewOutput(of: "winogradConv3x3", input: x, channels: filter.outputChannels, kernel: (3, 3), padding: padding) {
        winogradConv3x3($0, filter: filter, bias: bias, padding: padding, activation: activation, into: $1)
    }
}

/// The same, reading channels `input` of a larger tensor and writing into `output`'s channels
/// (Inception's branches; see `ChannelWindow`).
public func winogradConv3x3(_ input: ChannelWindow, filter: Winograd3x3Filter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none, into output: ChannelWindow) {
    let n = input.batch, c = input.count, h = input.height, w = input.width
    let o = filter.outputChannels
    let (oh, ow) = winogradOutputSize("winogradConv3x3", input: input, inputChannels: filter.inputChannels, outputChannels: o, bias: bias,
                                      kernel: (3, 3), padding: padding, output: output)
    let th = (oh + 3) / 4, tw = (ow + 3) / 4         // tiles per image, down and across
    let paddedWidth = 4 * tw + 2                      // input columns the tiles of one row read
    let totalRows = n * th                            // tile rows of the whole batch

    let (rowsPerChunk, chunks) = winogradChunking(tileRows: totalRows, tilesPerRow: tw, channels: c + o)

    let xs = input.base, xStride = input.imageStride, ys = output.base, yStride = output.imageStride, us = filter.transformed.data, bs = bias?.data
    withSingleThreadedBLAS {
        parallelFor(chunks) { chunk in
            let rows = chunk * rowsPerChunk..<min((chunk + 1) * rowsPerChunk, totalRows)
            let tiles = rows.count * tw
            Workspace.with(36 * c * tiles) { v in
            Workspace.with(36 * o * tiles) { m in
            Workspace.with(12 * paddedWidth + 36 * tw) { scratch in
                let patchRows = scratch, combined = scratch + 6 * paddedWidth, outputRows = scratch + 12 * paddedWidth
                // 1. V = Bᵀ d B for every (input channel, tile) of the chunk.
                for ch in 0..<c {
                    for (k, row) in rows.enumerated() {
                        let image = row / th, ty = row % th
                        let plane = xs + image * xStride + ch * h * w
                        for r in 0..<6 {
                            copyPaddedInputRow(plane, row: 4 * ty + r - padding.top, height: h, width: w, left: padding.left,
                                          into: patchRows + r * paddedWidth, paddedWidth: paddedWidth)
                        }
                        inputTransform(patchRows, step: paddedWidth, advance: 1, count: paddedWidth,
                                       into: combined, outStride: paddedWidth)
                        for i in 0..<6 {
                            inputTransform(combined + i * paddedWidth, step: 1, advance: 4, count: tw,
                                           into: v + (i * 6) * c * tiles + ch * tiles + k * tw, outStride: c * tiles)
                        }
                    }
                }
                // 2. M[ξ] = U[ξ] · V[ξ]
                winogradProducts(points: 36, outputs: o, inputs: c, tiles: tiles, u: us, v: v, m: m)
                // 3. y = Aᵀ M A, plus bias and activation, clipped at the bottom and right edges.
                for oc in 0..<o {
                    let b = bs?[oc] ?? 0
                    for (k, row) in rows.enumerated() {
                        let image = row / th, ty = row % th
                        let sums = outputRows  // S[a][j][tx], 4·6·tw floats
                        outputTransformColumns(m + oc * tiles + k * tw, stride: o * tiles, tiles: tw, into: sums)
                        let plane = ys + image * yStride + oc * oh * ow
                        for a in 0..<min(4, oh - 4 * ty) {
                            outputTransformAlongRow(sums + a * 6 * tw, tiles: tw, into: combined)
                            storeRow(combined, to: plane + (4 * ty + a) * ow, count: ow, bias: b, activation: activation)
                        }
                    }
                }
            }
            }
            }
        }
    }
}

/// Bᵀ of F(4×4, 3×3) applied to `count` 6-vectors: vector t's elements are d[t·advance + k·step]
/// (k = 0..<6), its 6 results go to out[j·outStride + t]. Used down the 6 patch rows (step = row
/// width, advance 1: contiguous, vectorised) and along a combined row (step 1, advance 4: one
/// vector per tile). Inlined, so each call site compiles with its strides as constants.
@inline(__always)
private func inputTransform(_ d: UnsafeMutablePointer<Float>, step: Int, advance: Int, count: Int,
                            into out: UnsafeMutablePointer<Float>, outStride: Int) {
    let o0 = out, o1 = out + outStride, o2 = out + 2 * outStride, o3 = out + 3 * outStride
    let o4 = out + 4 * outStride, o5 = out + 5 * outStride
    for t in 0..<count {
        let p = d + t * advance
        let a0 = p[0], a1 = p[step], a2 = p[2 * step], a3 = p[3 * step], a4 = p[4 * step], a5 = p[5 * step]
        o0[t] = 4 * a0 - 5 * a2 + a4
        o1[t] = (a3 + a4) - 4 * (a1 + a2)
        o2[t] = (a4 - a3) + 4 * (a1 - a2)
        o3[t] = (a4 - a2) + 2 * (a3 - a1)
        o4[t] = (a4 - a2) - 2 * (a3 - a1)
        o5[t] = 4 * a1 - 5 * a3 + a5
    }
}

/// Aᵀ applied across the 6 row positions i of M: S[a][j][t] = Σ_i Aᵀ[a][i]·M[6i + j][t], where
/// M[ξ][t] is at m[ξ·stride + t]. S is 4 × 6 × tiles.
@inline(__always)
private func outputTransformColumns(_ m: UnsafeMutablePointer<Float>, stride: Int, tiles: Int, into s: UnsafeMutablePointer<Float>) {
    for j in 0..<6 {
        let m0 = m + j * stride, m1 = m + (6 + j) * stride, m2 = m + (12 + j) * stride
        let m3 = m + (18 + j) * stride, m4 = m + (24 + j) * stride, m5 = m + (30 + j) * stride
        let s0 = s + j * tiles, s1 = s + (6 + j) * tiles, s2 = s + (12 + j) * tiles, s3 = s + (18 + j) * tiles
        for t in 0..<tiles {
            let a1 = m1[t], a2 = m2[t], a3 = m3[t], a4 = m4[t]
            let plus12 = a1 + a2, minus12 = a1 - a2, plus34 = a3 + a4, minus34 = a3 - a4
            s0[t] = m0[t] + plus12 + plus34
            s1[t] = minus12 + 2 * minus34
            s2[t] = plus12 + 4 * plus34
            s3[t] = minus12 + 8 * minus34 + m5[t]
        }
    }
}

/// Aᵀ along one row of S (6 values per tile) → 4 output pixels per tile: out[4t + b].
@inline(__always)
private func outputTransformAlongRow(_ s: UnsafeMutablePointer<Float>, tiles: Int, into out: UnsafeMutablePointer<Float>) {
    let s0 = s, s1 = s + tiles, s2 = s + 2 * tiles, s3 = s + 3 * tiles, s4 = s + 4 * tiles, s5 = s + 5 * tiles
    for t in 0..<tiles {
        let a1 = s1[t], a2 = s2[t], a3 = s3[t], a4 = s4[t]
        let plus12 = a1 + a2, minus12 = a1 - a2, plus34 = a3 + a4, minus34 = a3 - a4
        let p = out + 4 * t
        p[0] = s0[t] + plus12 + plus34
        p[1] = minus12 + 2 * minus34
        p[2] = plus12 + 4 * plus34
        p[3] = minus12 + 8 * minus34 + s5[t]
    }
}
