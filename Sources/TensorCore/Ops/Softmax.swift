import Foundation

/// Softmax over the last axis, of `scale·x` (attention passes 1/√d here, saving a sweep).
///
///     x: (…, C) → (…, C)
public func softmax(_ x: Tensor, scale: Float = 1) -> Tensor {
    let y = x.copy()
    let c = x.shape.last ?? 1
    softmaxRowsInPlace(y.data, rows: c == 0 ? 0 : x.count / c, columns: c, scale: scale)
    return y
}

/// dL/dx of `softmax` given its output y: dx = scale · y ⊙ (dy − Σ_j dy_j y_j).
public func softmaxBackward(_ gradOutput: Tensor, output y: Tensor, scale: Float = 1) -> Tensor {
    precondition(gradOutput.shape == y.shape, "softmaxBackward: gradOutput \(gradOutput.shape) ≠ output \(y.shape)")
    let dx = gradOutput.copy()
    let c = y.shape.last ?? 1
    softmaxBackwardRowsInPlace(dx.data, output: y.data, rows: c == 0 ? 0 : y.count / c, columns: c, scale: scale)
    return dx
}

/// Row-wise softmax of scale·x in place; the row maximum is subtracted first so exp cannot overflow.
@inline(__always)
func softmaxRowsInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, columns c: Int, scale: Float) {
    for r in 0..<rows {
        let row = x + r * c
        var m = -Float.infinity
        for j in 0..<c { m = max(m, row[j]) }
        var sums = Lanes()
        forEachLanes(0..<c) { j, w in
            var e = fastExp((loadLanes(row, j, w) - m) * scale)
            if w < 8 { for lane in w..<8 { e[lane] = 0 } }   // the padded tail adds nothing
            storeLanes(e, row, j, w)
            sums += e
        }
        let sum = sums.sum()
        let inv = 1 / sum
        for j in 0..<c { row[j] *= inv }
    }
}

/// In place: g ← scale · y ⊙ (g − Σ g⊙y), row by row.
@inline(__always)
func softmaxBackwardRowsInPlace(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int,
                                columns c: Int, scale: Float) {
    for r in 0..<rows {
        let gr = g + r * c, yr = y + r * c
        var dot: Float = 0
        for j in 0..<c { dot += gr[j] * yr[j] }
        for j in 0..<c { gr[j] = scale * yr[j] * (gr[j] - dot) }
    }
}
