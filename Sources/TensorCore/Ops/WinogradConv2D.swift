import Foundation

/// r×r stride-1 convolutions by Winograd's minimal filtering F(m×m, r×r), for any m and r whose
/// tile side n = m + r − 1 is at most 8, built from the one-dimensional transforms
/// (`WinogradTransform1D`) applied along both axes.
///
/// Why: F(4×4, 5×5) turns a 5×5 layer's 25 multiply-adds per output into 4 (Inception's
/// Mixed_5b–5d: 1.6× faster than im2col + sgemm, the 8×8 transforms taking the rest). For 3×3 the
/// hand-coded F(4×4, 3×3) (`winogradConv3x3`) stays faster: F(6×6, 3×3) here saves 21% of the
/// multiplies but its transforms cost more (`dimr-eval bench conv` shows both).
///
/// For each output tile t, input channel c, output channel o (ξ, η: positions of the n×n tile):
///
///     V[ξη][c][t] = (Bᵀ d_{c,t} B)[ξ][η]      input transform of the n×n patch d
///     U[ξη][o][c] = (G g_{o,c} Gᵀ)[ξ][η]      once per weight (`Winograd2DFilter`)
///     M[ξη]       = U[ξη] · V[ξη]             n² GEMMs, (O × C) · (C × tiles)
///     y_{o,t}     = Aᵀ M_{o,t} A              output transform → m×m pixels
///
/// Each transform runs as two passes: one that combines whole padded rows elementwise (contiguous,
/// vectorised) and one per tile along a row, an n-lane vector multiply-add per tap.
public struct Winograd2DFilter {
    /// (n², O, C): U[ξη] for ξη = n·ξ + η, computed in Float64 and rounded once.
    public let transformed: Tensor
    public let transform: WinogradTransform1D
    public var outputChannels: Int { transformed.shape[1] }
    public var inputChannels: Int { transformed.shape[2] }

    /// The m of F(m×m, r×r) with the fewest multiplies on a side × side map: ⌈side/m⌉ tiles of
    /// n = m + r − 1 along each axis, n ≤ 8 (ties: the smaller m, which rounds less).
    public static func bestTileOutputs(taps r: Int, side: Int) -> Int {
        (2...max(2, 9 - r)).min { a, b in
            let ca = (side + a - 1) / a * (a + r - 1), cb = (side + b - 1) / b * (b + r - 1)
            return ca < cb || (ca == cb && a < b)
        }!
    }

    /// weight: (O, C, r, r), as for `conv2d` with groups 1; m + r − 1 ≤ 8.
    public init(weight: Tensor, outputsPerTile m: Int) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] >= 2,
                     "Winograd2DFilter: weight must be (O, C, r, r) with r ≥ 2, got shape \(weight.shape)")
        let r = weight.shape[2], o = weight.shape[0], c = weight.shape[1]
        precondition(m >= 2 && m + r - 1 <= 8, "Winograd2DFilter: F(\(m)x\(m), \(r)x\(r)) needs tiles of \(m + r - 1), at most 8")
        transform = WinogradTransform1D(outputs: m, taps: r)
        let n = transform.n, g = transform.g
        transformed = Tensor(zeros: [n * n, o, c])
        let w = weight.data, u = transformed.data
        var gw = [Double](repeating: 0, count: n * r)   // G·w (n × r)
        for oc in 0..<(o * c) {
            let k = w + oc * r * r
            for i in 0..<n {
                for b in 0..<r {
                    var s = 0.0
                    for a in 0..<r { s += g[i * r + a] * Double(k[a * r + b]) }
                    gw[i * r + b] = s
                }
            }
            for i in 0..<n {
                for j in 0..<n {
                    var s = 0.0
                    for b in 0..<r { s += gw[i * r + b] * g[j * r + b] }
                    u[(i * n + j) * o * c + oc] = Float(s)
                }
            }
        }
    }
}

/// `conv2d(x, weight:, bias:, stride: (1, 1), padding:, activation:)` for an r×r weight, computed
/// with Winograd F(m×m, r×r); `filter` is the weight transformed once.
///
///     x: (N, C, H, W) → (N, O, H + top + bottom − r + 1, W + left + right − r + 1)
public func winogradConv2D(_ x: Tensor, filter: Winograd2DFilter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none) -> Tensor {
    withNewOutput(of: "winogradConv2D", input: x, channels: filter.outputChannels, kernel: (filter.transform.r, filter.transform.r), padding: padding) {
        winogradConv2D($0, filter: filter, bias: bias, padding: padding, activation: activation, into: $1)
    }
}

/// The same, reading channels `input` of a larger tensor and writing into `output`'s channels
/// (Inception's branches; see `ChannelWindow`).
public func winogradConv2D(_ input: ChannelWindow, filter: Winograd2DFilter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none, into output: ChannelWindow) {
    let n = input.batch, c = input.count, h = input.height, w = input.width
    let o = filter.outputChannels, f = filter.transform, m = f.m, r = f.r, nx = f.n
    let (oh, ow) = winogradOutputSize("winogradConv2D", input: input, inputChannels: filter.inputChannels, outputChannels: o, bias: bias,
                                      kernel: (r, r), padding: padding, output: output)
    let th = (oh + m - 1) / m, tw = (ow + m - 1) / m    // tiles per image, down and across
    let paddedWidth = m * tw + r - 1                     // input columns the tiles of one row read
    let rowWidth = m * tw + 8                            // an output row, with room for a full vector store
    let totalRows = n * th
    let (rowsPerChunk, chunks) = winogradChunking(tileRows: totalRows, tilesPerRow: tw, channels: c + o)

    // Bᵀ and Aᵀ as Float: scalar rows for the elementwise passes, and columns as 8-lane vectors
    // (lane ξ of Bᵀ, lane q of Aᵀ) for the per-tile passes.
    let bt = f.bt.map(Float.init), at = f.at.map(Float.init)
    var btColumns = [SIMD8<Float>](repeating: .zero, count: nx), atColumns = btColumns
    for s in 0..<nx {
        for xi in 0..<nx { btColumns[s][xi] = bt[xi * nx + s] }
        for q in 0..<m { atColumns[s][q] = at[q * nx + s] }
    }

    let xs = input.base, xStride = input.imageStride, ys = output.base, yStride = output.imageStride, us = filter.transformed.data, bs = bias?.data
    withSingleThreadedBLAS {
        parallelFor(chunks) { chunk in
            let rows = chunk * rowsPerChunk..<min((chunk + 1) * rowsPerChunk, totalRows)
            let tiles = rows.count * tw
            Workspace.with(nx * nx * c * tiles) { v in
            Workspace.with(nx * nx * o * tiles) { mm in
            Workspace.with(2 * nx * paddedWidth + nx * rowWidth + rowWidth) { scratch in
                let patchRows = scratch, combined = scratch + nx * paddedWidth
                let partial = scratch + 2 * nx * paddedWidth, line = partial + nx * rowWidth
                // 1. V = Bᵀ d B for every (input channel, tile) of the chunk: Bᵀ down the n patch
                //    rows (whole rows at once), then B along each combined row (one vector per tile).
                for ch in 0..<c {
                    for (k, row) in rows.enumerated() {
                        let image = row / th, ty = row % th
                        let plane = xs + image * xStride + ch * h * w
                        for s in 0..<nx {
                            copyPaddedInputRow(plane, row: m * ty + s - padding.top, height: h, width: w, left: padding.left,
                                               into: patchRows + s * paddedWidth, paddedWidth: paddedWidth)
                        }
                        for xi in 0..<nx {
                            combineRows(patchRows, stride: paddedWidth, coefficients: bt, offset: xi * nx, count: nx,
                                        width: paddedWidth, into: combined + xi * paddedWidth)
                        }
                        let out = v + ch * tiles + k * tw
                        for xi in 0..<nx {
                            let src = combined + xi * paddedWidth, dst = out + xi * nx * c * tiles
                            for t in 0..<tw {
                                var acc = SIMD8<Float>.zero
                                for s in 0..<nx { acc += src[m * t + s] * btColumns[s] }
                                for eta in 0..<nx { dst[eta * c * tiles + t] = acc[eta] }
                            }
                        }
                    }
                }
                // 2. M[ξη] = U[ξη] · V[ξη]
                winogradProducts(points: (nx * nx), outputs: o, inputs: c, tiles: tiles, u: us, v: v, m: mm)
                // 3. y = Aᵀ M A, plus bias and activation, clipped at the bottom and right edges:
                //    A along each row ξ of the tile (one vector per tile), then Aᵀ down the n rows.
                for oc in 0..<o {
                    let b = bs?[oc] ?? 0
                    for (k, row) in rows.enumerated() {
                        let image = row / th, ty = row % th
                        let src = mm + oc * tiles + k * tw
                        for xi in 0..<nx {
                            let dst = partial + xi * rowWidth
                            for t in 0..<tw {
                                var acc = SIMD8<Float>.zero
                                for eta in 0..<nx { acc += src[(xi * nx + eta) * o * tiles + t] * atColumns[eta] }
                                UnsafeMutableRawPointer(dst + m * t).storeBytes(of: acc, as: SIMD8<Float>.self)
                            }
                        }
                        let plane = ys + image * yStride + oc * oh * ow
                        for q in 0..<min(m, oh - m * ty) {
                            combineRows(partial, stride: rowWidth, coefficients: at, offset: q * nx, count: nx, width: ow, into: line)
                            storeRow(line, to: plane + (m * ty + q) * ow, count: ow, bias: b, activation: activation)
                        }
                    }
                }
            }
            }
            }
        }
    }
}

/// out[q] = Σ_s coefficients[offset + s] · rows[s·stride + q] for q < width, skipping the zero
/// coefficients (Bᵀ and Aᵀ are a third zeros and ±1s).
@inline(__always)
private func combineRows(_ rows: UnsafeMutablePointer<Float>, stride: Int, coefficients: [Float], offset: Int, count: Int,
                         width: Int, into out: UnsafeMutablePointer<Float>) {
    var first = true
    for s in 0..<count {
        let a = coefficients[offset + s]
        if a == 0 { continue }
        let src = rows + s * stride
        if first {
            for q in 0..<width { out[q] = a * src[q] }
            first = false
        } else {
            for q in 0..<width { out[q] += a * src[q] }
        }
    }
    if first { out.update(repeating: 0, count: width) }
}
