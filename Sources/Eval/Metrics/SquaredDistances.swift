import TensorCore

/// How pairwise distances are computed for the k-NN metrics.
public enum DistancePrecision: String, Codable, CaseIterable, Sendable {
    /// float32 GEMM, ‖u‖² − 2u·v + ‖v‖² clamped at 0 (numpy's / prdc's arithmetic).
    case fp32
    /// The ADM evaluator's GPU arithmetic: features cast to float16, products accumulated in
    /// float32 and rounded to float16, and every step of ‖u‖² − 2u·v + ‖v‖² rounded to float16.
    /// A tile that overflows float16 is recomputed in float32, as ADM does for a block.
    case fp16
}

/// One side of a distance computation: features (N, D) row-major plus their squared norms,
/// prepared once in the requested precision.
final class DistanceOperand {
    let rows: Int
    let dimension: Int
    let precision: DistancePrecision
    /// Features as used in the GEMM (rounded to float16 values in fp16 mode).
    let features: UnsafePointer<Float>
    let norms: [Float]
    /// The float32 operand, for recomputing overflowing fp16 tiles.
    let exact: DistanceOperand?
    private let storage: Tensor

    /// x: (N, D)
    init(_ x: Tensor, precision: DistancePrecision) {
        precondition(x.rank == 2, "features must be (N, D), got \(x.shape)")
        let n = x.shape[0], d = x.shape[1]
        rows = n; dimension = d
        self.precision = precision
        switch precision {
        case .fp32:
            storage = x
            exact = nil
            // Norms summed in float64 and rounded once: as accurate as numpy's pairwise sum.
            var norms = [Float](repeating: 0, count: n)
            let data = x.data
            norms.withUnsafeMutableBufferPointer { out in
                let o = UncheckedSendable(out.baseAddress!)
                parallelChunks(n, minChunk: 64) { range in
                    for i in range {
                        var s = 0.0
                        let row = data + i * d
                        for j in 0..<d { let v = Double(row[j]); s += v * v }
                        o.value[i] = Float(s)
                    }
                }
            }
            self.norms = norms
        case .fp16:
            let rounded = Tensor(uninitialized: x.shape)
            for i in 0..<x.count { rounded.data[i] = roundedToHalf(x.data[i]) }
            storage = rounded
            exact = DistanceOperand(x, precision: .fp32)
            // tf.reduce_sum(tf.square(U)) in half: squares rounded to half, summed in float32, rounded.
            var norms = [Float](repeating: 0, count: rows)
            for i in 0..<rows {
                var s: Float = 0
                let row = rounded.data + i * d
                for j in 0..<d { s += roundedToHalf(row[j] * row[j]) }
                norms[i] = roundedToHalf(s)
            }
            self.norms = norms
        }
        features = UnsafePointer(storage.data)
    }
}

/// tile[r, c] = ‖a_r − b_c‖² for rows `rows` of `a` and `cols` of `b`, computed as
/// (‖a‖² − 2a·b) + ‖b‖² and clamped at 0, like numpy and the ADM evaluator.
/// tile: (rows.count, ld) row-major.
func squaredDistanceTile(_ a: DistanceOperand, _ rows: Range<Int>, _ b: DistanceOperand, _ cols: Range<Int>,
                         into tile: UnsafeMutablePointer<Float>, ld: Int) {
    precondition(a.dimension == b.dimension && a.precision == b.precision)
    let d = a.dimension
    BLAS.sgemm(transB: true, m: rows.count, n: cols.count, k: d, alpha: -2,
               a: a.features + rows.lowerBound * d, lda: d, b: b.features + cols.lowerBound * d, ldb: d,
               beta: 0, c: tile, ldc: ld)
    let overflow = UncheckedSendable(UnsafeMutablePointer<Bool>.allocate(capacity: rows.count))
    defer { overflow.value.deallocate() }
    let t = UncheckedSendable(tile)
    a.norms.withUnsafeBufferPointer { na in
        b.norms.withUnsafeBufferPointer { nb in
            let na = UncheckedSendable(na.baseAddress! + rows.lowerBound), nb = UncheckedSendable(nb.baseAddress! + cols.lowerBound)
            let n = cols.count
            parallelChunks(rows.count, minChunk: 16) { range in
                for r in range {
                    let row = t.value + r * ld, u = na.value[r]
                    switch a.precision {
                    case .fp32:
                        for c in 0..<n { row[c] = max((u + row[c]) + nb.value[c], 0) }
                        overflow.value[r] = false
                    case .fp16:
                        var bad = false
                        for c in 0..<n {
                            let v = roundedToHalf(roundedToHalf(u + roundedToHalf(row[c])) + nb.value[c])
                            bad = bad || !v.isFinite
                            row[c] = max(v, 0)
                        }
                        overflow.value[r] = bad
                    }
                }
            }
        }
    }
    if a.precision == .fp16, (0..<rows.count).contains(where: { overflow.value[$0] }),
       let ea = a.exact, let eb = b.exact {
        squaredDistanceTile(ea, rows, eb, cols, into: tile, ld: ld)
    }
}
