import Foundation

/// 1×r and r×1 stride-1 convolutions by Winograd's minimal filtering F(m, r) along one axis.
///
/// Why: Inception's 1×7/7×1 (26% of its multiply-adds) and 1×3/3×1 layers are GEMM-bound through
/// im2col; F(4, 7) computes 4 outputs of a 7-tap filter with 10 multiplies instead of 28, and
/// F(4, 3) 4 outputs of a 3-tap filter with 6 instead of 12.
///
/// For each tile t (m consecutive outputs along the axis), input channel c, output channel o:
///
///     V[ξ][c][t] = (Bᵀ d_{c,t})[ξ]        d: the n = m + r − 1 inputs the tile reads
///     U[ξ][o][c] = (G g_{o,c})[ξ]         once per weight (`Winograd1DFilter`)
///     M[ξ]       = U[ξ] · V[ξ]            n GEMMs, (O × C) · (C × tiles)
///     y_{o,t}    = Aᵀ M_{o,t}             m outputs
///
/// The matrices come from Toom-Cook interpolation at the points 0, ±1, ±2, ±½, ±3, … and ∞
/// (`WinogradTransform1D`), built in Float64 and checked against the convolution identity.
public struct WinogradTransform1D: Sendable {
    public let m: Int, r: Int
    public var n: Int { m + r - 1 }
    /// Aᵀ (m × n), G (n × r), Bᵀ (n × n), row-major, Float64.
    let at: [Double], g: [Double], bt: [Double]

    /// In this order, F(4, 7) interpolates at 0, ±1, ±2, ±½, ±3 and F(6, 7) adds ±¼: the sets with
    /// the smallest float32 error among those tried (F(6, 7) with ±4 instead of ±¼: 20× larger).
    static let points: [Double] = [0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 0.25, -0.25, 1.5, -1.5]

    /// F(m, r): Aᵀ and G are Vandermonde matrices of the points (G divided by the Lagrange
    /// denominators, so the fractions sit in the filter transform, done once in Float64); Bᵀ is
    /// the unique matrix that makes Aᵀ[(G g) ⊙ (Bᵀ d)] the correlation of d with g, solved here.
    public init(outputs m: Int, taps r: Int) {
        precondition(m >= 1 && r >= 2 && m + r - 2 <= Self.points.count,
                     "WinogradTransform1D: F(\(m), \(r)) needs \(m + r - 2) finite points, have \(Self.points.count)")
        self.m = m; self.r = r
        let n = m + r - 1, p = Array(Self.points[0..<(n - 1)])
        var at = [Double](repeating: 0, count: m * n), g = [Double](repeating: 0, count: n * r)
        for (i, pi) in p.enumerated() {
            let denominator = p.enumerated().filter { $0.offset != i }.reduce(1.0) { $0 * (pi - $1.element) }
            for k in 0..<m { at[k * n + i] = pow(pi, Double(k)) }
            for t in 0..<r { g[i * r + t] = pow(pi, Double(t)) / denominator }
        }
        at[(m - 1) * n + n - 1] = 1
        g[(n - 1) * r + r - 1] = 1
        // Σ_i Aᵀ[k][i]·G[i][t]·Bᵀ[i][s] = [s == k + t] for all k, t: for each s, m·r equations in the
        // n unknowns Bᵀ[·][s], consistent and of full rank; solved through the normal equations.
        var w = [Double](repeating: 0, count: m * r * n)
        for k in 0..<m { for t in 0..<r { for i in 0..<n { w[(k * r + t) * n + i] = at[k * n + i] * g[i * r + t] } } }
        var bt = [Double](repeating: 0, count: n * n)
        for s in 0..<n {
            var normal = [Double](repeating: 0, count: n * n), rhs = [Double](repeating: 0, count: n)
            for row in 0..<(m * r) {
                let target: Double = row / r + row % r == s ? 1 : 0
                for i in 0..<n {
                    rhs[i] += w[row * n + i] * target
                    for j in 0..<n { normal[i * n + j] += w[row * n + i] * w[row * n + j] }
                }
            }
            let b = solveDense(normal, rhs, n)
            for i in 0..<n { bt[i * n + s] = b[i] }
        }
        for k in 0..<m { for t in 0..<r { for s in 0..<n {
            var sum = 0.0
            for i in 0..<n { sum += at[k * n + i] * g[i * r + t] * bt[i * n + s] }
            precondition(abs(sum - (k + t == s ? 1 : 0)) < 1e-9, "WinogradTransform1D: F(\(m), \(r)) failed its identity check")
        } } }
        self.at = at; self.g = g; self.bt = bt
    }
}

/// Gaussian elimination with partial pivoting, for the small (n ≤ 12) systems above.
private func solveDense(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var a = a, b = b
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
        if pivot != col {
            for j in 0..<n { a.swapAt(col * n + j, pivot * n + j) }
            b.swapAt(col, pivot)
        }
        for row in (col + 1)..<n {
            let f = a[row * n + col] / a[col * n + col]
            for j in col..<n { a[row * n + j] -= f * a[col * n + j] }
            b[row] -= f * b[col]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var s = b[row]
        for j in (row + 1)..<n { s -= a[row * n + j] * x[j] }
        x[row] = s / a[row * n + row]
    }
    return x
}

/// A 1×r or r×1 weight transformed for `winogradConv1D`.
public struct Winograd1DFilter {
    public enum Axis: Sendable { case horizontal, vertical }
    /// (n, O, C): U[ξ] = (G g)[ξ] for every (output, input) channel pair.
    public let transformed: Tensor
    public let axis: Axis
    public let transform: WinogradTransform1D
    public var outputChannels: Int { transformed.shape[1] }
    public var inputChannels: Int { transformed.shape[2] }

    /// The m of F(m, r), 2 ≤ m ≤ 6, with the fewest multiplies for rows `length` long:
    /// ⌈length/m⌉ tiles of m + r − 1 each (ties: the smaller m, which rounds less).
    public static func bestTileOutputs(taps r: Int, length: Int) -> Int {
        (2...6).min { a, b in
            let ca = (length + a - 1) / a * (a + r - 1), cb = (length + b - 1) / b * (b + r - 1)
            return ca < cb || (ca == cb && a < b)
        }!
    }

    /// weight: (O, C, 1, r) for a horizontal (1×r) or (O, C, r, 1) for a vertical (r×1) filter;
    /// `outputsPerTile` is m of F(m, r), 2 ≤ m ≤ 8, m + r ≤ 15. Larger m means fewer multiplies
    /// per output ((m + r − 1)/m) but more rounding and more waste where the axis is not a
    /// multiple of m.
    public init(weight: Tensor, outputsPerTile m: Int = 4) {
        precondition((2...8).contains(m), "Winograd1DFilter: outputsPerTile must be 2...8, got \(m)")
        precondition(weight.rank == 4 && (weight.shape[2] == 1) != (weight.shape[3] == 1),
                     "Winograd1DFilter: weight must be (O, C, 1, r) or (O, C, r, 1) with r ≥ 2, got shape \(weight.shape)")
        axis = weight.shape[2] == 1 ? .horizontal : .vertical
        let r = max(weight.shape[2], weight.shape[3]), o = weight.shape[0], c = weight.shape[1]
        precondition(m + r - 1 <= 16, "Winograd1DFilter: F(\(m), \(r)) needs \(m + r - 1) transform lanes, at most 16 (weight \(weight.shape))")
        transform = WinogradTransform1D(outputs: m, taps: r)
        let n = transform.n
        transformed = Tensor(zeros: [n, o, c])
        let w = weight.data, u = transformed.data
        for oc in 0..<(o * c) {
            for xi in 0..<n {
                var s = 0.0
                for t in 0..<r { s += transform.g[xi * r + t] * Double(w[oc * r + t]) }
                u[xi * o * c + oc] = Float(s)
            }
        }
    }
}

/// `conv2d(x, weight:, bias:, stride: (1, 1), padding:, activation:)` for a 1×r or r×1 weight,
/// computed with Winograd F(m, r) along the filter's axis; `filter` is the weight transformed once.
public func winogradConv1D(_ x: Tensor, filter: Winograd1DFilter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none) -> Tensor {
    withNewOutput(of: "winogradConv1D", input: x, channels: filter.outputChannels, kernel: filter.axis == .horizontal ? (1, filter.transform.r) : (filter.transform.r, 1), padding: padding) {
        winogradConv1D($0, filter: filter, bias: bias, padding: padding, activation: activation, into: $1)
    }
}

/// The same, reading channels `input` of a larger tensor and writing into `output`'s channels
/// (Inception's branches; see `ChannelWindow`).
public func winogradConv1D(_ input: ChannelWindow, filter: Winograd1DFilter, bias: Tensor?, padding: Padding2D = .zero,
                           activation: Activation = .none, into output: ChannelWindow) {
    let n = input.batch, c = input.count, h = input.height, w = input.width
    let o = filter.outputChannels, f = filter.transform, m = f.m, taps = f.r, nx = f.n
    let horizontal = filter.axis == .horizontal
    let kernel = horizontal ? (1, taps) : (taps, 1)
    let (oh, ow) = winogradOutputSize("winogradConv1D", input: input, inputChannels: filter.inputChannels, outputChannels: o, bias: bias,
                                      kernel: kernel, padding: padding, output: output)
    // A tile row: horizontal, one output row (its tiles side by side); vertical, m output rows
    // (one tile per column, so the transforms run along contiguous rows).
    let rowsPerImage = horizontal ? oh : (oh + m - 1) / m
    let tilesPerRow = horizontal ? (ow + m - 1) / m : ow
    let paddedWidth = horizontal ? m * tilesPerRow + taps - 1 : ow
    let (rowsPerChunk, chunks) = winogradChunking(tileRows: n * rowsPerImage, tilesPerRow: tilesPerRow, channels: c + o)
    // Columns of Bᵀ as 16-lane vectors (lane ξ) and of Aᵀ as 4-lane vectors (lane q): each tile's
    // transform is then n vector multiply-adds, whatever the tiles' stride in memory.
    let btColumns = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: nx)
    let atColumns = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: nx)
    defer { btColumns.deallocate(); atColumns.deallocate() }
    for s in 0..<nx {
        btColumns[s] = SIMD16(repeating: 0); atColumns[s] = SIMD8(repeating: 0)
        for xi in 0..<nx { btColumns[s][xi] = Float(f.bt[xi * nx + s]) }
        for q in 0..<m { atColumns[s][q] = Float(f.at[q * nx + s]) }
    }

    let xs = input.base, xStride = input.imageStride, ys = output.base, yStride = output.imageStride, us = filter.transformed.data, bs = bias?.data
    withSingleThreadedBLAS {
        parallelFor(chunks) { chunk in
            let rows = chunk * rowsPerChunk..<min((chunk + 1) * rowsPerChunk, n * rowsPerImage)
            let tiles = rows.count * tilesPerRow
            Workspace.with(nx * c * tiles) { v in
            Workspace.with(nx * o * tiles) { mm in
            Workspace.with(nx * paddedWidth + m * tilesPerRow + 16) { scratch in
                // 1. V = Bᵀ d for every (input channel, tile); d[s] of tile t sits at
                //    patch + s·step + t·advance (along a padded row, or down the padded rows)
                let step = horizontal ? 1 : paddedWidth, advance = horizontal ? m : 1
                for ch in 0..<c {
                    for (k, row) in rows.enumerated() {
                        let image = row / rowsPerImage, r0 = row % rowsPerImage
                        let plane = xs + image * xStride + ch * h * w
                        if horizontal {
                            copyPaddedInputRow(plane, row: r0 - padding.top, height: h, width: w, left: padding.left,
                                               into: scratch, paddedWidth: paddedWidth)
                        } else {
                            for s in 0..<nx {
                                copyPaddedInputRow(plane, row: m * r0 + s - padding.top, height: h, width: w, left: padding.left,
                                                   into: scratch + s * paddedWidth, paddedWidth: paddedWidth)
                            }
                        }
                        let out = v + ch * tiles + k * tilesPerRow
                        for t in 0..<tilesPerRow {
                            let patch = scratch + t * advance
                            var acc = SIMD16<Float>(repeating: 0)
                            for s in 0..<nx { acc += patch[s * step] * btColumns[s] }
                            for xi in 0..<nx { out[xi * c * tiles + t] = acc[xi] }
                        }
                    }
                }
                // 2. M[ξ] = U[ξ] · V[ξ]
                winogradProducts(points: nx, outputs: o, inputs: c, tiles: tiles, u: us, v: v, m: mm)
                // 3. y = Aᵀ M, plus bias and activation, clipped at the far edge
                let line = scratch
                for oc in 0..<o {
                    let b = bs?[oc] ?? 0
                    for (k, row) in rows.enumerated() {
                        let image = row / rowsPerImage, r0 = row % rowsPerImage
                        let src = mm + oc * tiles + k * tilesPerRow
                        let plane = ys + image * yStride + oc * oh * ow
                        if horizontal {
                            for t in 0..<tilesPerRow {
                                var acc = SIMD8<Float>(repeating: 0)
                                for xi in 0..<nx { acc += src[xi * o * tiles + t] * atColumns[xi] }
                                UnsafeMutableRawPointer(line + m * t).storeBytes(of: acc, as: SIMD8<Float>.self)
                            }
                            storeRow(line, to: plane + r0 * ow, count: ow, bias: b, activation: activation)
                        } else {
                            let outputRows = min(m, oh - m * r0)
                            for t in 0..<ow {
                                var acc = SIMD8<Float>(repeating: 0)
                                for xi in 0..<nx { acc += src[xi * o * tiles + t] * atColumns[xi] }
                                for q in 0..<outputRows { line[q * ow + t] = acc[q] }
                            }
                            for q in 0..<outputRows {
                                storeRow(line + q * ow, to: plane + (m * r0 + q) * ow, count: ow, bias: b, activation: activation)
                            }
                        }
                    }
                }
            }
            }
            }
        }
    }
}

/// Tile rows per chunk for the Winograd convolutions: GEMMs up to ~512 tiles wide, and a chunk
/// count that is a multiple of the core count, so the cores get equal shares. (Measured on the
/// 2-core Zen: narrower GEMMs lose more than idle cores do — cutting the 64 tiles of an 8×8 layer's
/// batch into 8 chunks instead of 2 made it 2× slower.) Layers with few channels (input + output
/// ≤ 128, Inception's 32→32 and 32→64 stem layers on 147×147) take ~128 tiles instead: their
/// GEMMs are cheap next to the transformed tiles they stream, and smaller chunks keep those in
/// cache (`bench conv`, best of 3: 32→64 13–17% faster; wider layers gain nothing or lose).
/// Returns (rows per chunk, chunk count).
func winogradChunking(tileRows: Int, tilesPerRow: Int, channels: Int) -> (Int, Int) {
    let targetTiles = channels <= 128 ? 128 : 512
    let byWidth = (tileRows * tilesPerRow + targetTiles - 1) / targetTiles
    let chunks = min(max(1, tileRows), (max(1, byWidth) + coreCount - 1) / coreCount * coreCount)
    let rowsPerChunk = max(1, (tileRows + chunks - 1) / chunks)
    return (rowsPerChunk, (tileRows + rowsPerChunk - 1) / rowsPerChunk)
}

/// The n (or n²) products of a chunk: M[ξ] = U[ξ] · V[ξ], (O × C) · (C × tiles) each, for the
/// transform points ξ < `points`; U is (points, O, C), V (points, C, tiles), M (points, O, tiles).
@inline(__always)
func winogradProducts(points: Int, outputs o: Int, inputs c: Int, tiles: Int, u: UnsafeMutablePointer<Float>,
                      v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>) {
    for xi in 0..<points {
        BLAS.sgemm(m: o, n: tiles, k: c, a: u + xi * o * c, lda: c, b: v + xi * c * tiles, ldb: tiles,
                   c: m + xi * o * tiles, ldc: tiles)
    }
}

/// Checks a Winograd kernel's operands and returns its output size: `input` has the filter's
/// `inputChannels`, `bias` is (O), `output` is (N, O, OH, OW) for a stride-1 `kernel` with `padding`.
func winogradOutputSize(_ op: String, input: ChannelWindow, inputChannels: Int, outputChannels o: Int, bias: Tensor?,
                        kernel: (Int, Int), padding: Padding2D, output: ChannelWindow) -> (Int, Int) {
    precondition(input.count == inputChannels,
                 "\(op): input has \(input.count) channels, the filter expects \(inputChannels) (input \(input.shape))")
    if let bias { precondition(bias.shape == [o], "\(op): bias shape \(bias.shape) ≠ [\(o)]") }
    precondition(!input.overlaps(output), "\(op): the output window overlaps the input (channels \(input.channels), \(output.channels))")
    let (oh, ow) = padding.outputSize(height: input.height, width: input.width, kernel: kernel, stride: (1, 1))
    precondition(output.shape == [input.batch, o, oh, ow], "\(op): output window \(output.shape) ≠ [\(input.batch), \(o), \(oh), \(ow)]")
    return (oh, ow)
}

/// One input row (zero outside the image) shifted right by `left` into a buffer `paddedWidth` wide.
@inline(__always)
func copyPaddedInputRow(_ plane: UnsafeMutablePointer<Float>, row: Int, height: Int, width: Int, left: Int,
                        into dst: UnsafeMutablePointer<Float>, paddedWidth: Int) {
    guard row >= 0 && row < height else { dst.update(repeating: 0, count: paddedWidth); return }
    let start = min(left, paddedWidth), count = max(0, min(width, paddedWidth - left))
    dst.update(repeating: 0, count: start)
    dst.advanced(by: left).update(from: plane + row * width, count: count)
    if left + count < paddedWidth { dst.advanced(by: left + count).update(repeating: 0, count: paddedWidth - left - count) }
}

/// dst[q] = act(src[q] + bias) for q in 0..<count (src may be dst: `biasActivation` runs in place).
@inline(__always)
func storeRow(_ src: UnsafeMutablePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int, bias: Float,
              activation: Activation) {
    switch activation {
    case .none: for q in 0..<count { dst[q] = src[q] + bias }
    case .relu: for q in 0..<count { dst[q] = max(src[q] + bias, 0) }
    }
}
