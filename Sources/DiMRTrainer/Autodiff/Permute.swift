import TensorCore

/// Reorders the axes of a contiguous tensor (torch's `x.permute(dims).contiguous()`).
/// result.shape[i] = x.shape[dims[i]].
public func permuted(_ x: Tensor, _ dims: [Int]) -> Tensor {
    precondition(dims.sorted() == Array(0..<x.rank), "permute: \(dims) is not a permutation of the axes of \(x.shape)")
    let outShape = dims.map { x.shape[$0] }
    let y = Tensor(uninitialized: outShape)
    if x.count == 0 { return y }
    var inStrides = [Int](repeating: 1, count: x.rank)
    for i in stride(from: x.rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
    let strides = dims.map { inStrides[$0] }       // input stride of each output axis
    let inner = outShape.last!, innerStride = strides.last!
    let outer = x.count / inner
    let rank = x.rank
    let xs = x.data, ys = y.data
    parallelChunks(outer, minChunk: max(1, 16384 / max(inner, 1))) { rows in
        var index = [Int](repeating: 0, count: rank)
        for row in rows {
            // decompose the row number over the output's leading axes
            var rem = row, offset = 0
            for a in stride(from: rank - 2, through: 0, by: -1) {
                index[a] = rem % outShape[a]; rem /= outShape[a]
                offset += index[a] * strides[a]
            }
            let dst = ys + row * inner, src = xs + offset
            if innerStride == 1 { dst.update(from: src, count: inner) } else {
                for j in 0..<inner { dst[j] = src[j * innerStride] }
            }
        }
    }
    return y
}

/// The permutation that undoes `dims`.
func inversePermutation(_ dims: [Int]) -> [Int] {
    var inverse = [Int](repeating: 0, count: dims.count)
    for (i, d) in dims.enumerated() { inverse[d] = i }
    return inverse
}
