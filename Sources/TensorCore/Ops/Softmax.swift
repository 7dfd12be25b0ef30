import CKernels
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
/// (C, Sources/CKernels: Swift's scalar max and dot loops do not vectorise, and attention's
/// softmax was ~2% of a tiny DiT's training step.)
@inline(__always)
func softmaxRowsInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, columns c: Int, scale: Float) {
    vk_softmax_rows(x, rows, c, scale)
}

/// In place: g ← scale · y ⊙ (g − Σ g⊙y), row by row.
@inline(__always)
func softmaxBackwardRowsInPlace(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int,
                                columns c: Int, scale: Float) {
    vk_softmax_backward_rows(g, y, rows, c, scale)
}
