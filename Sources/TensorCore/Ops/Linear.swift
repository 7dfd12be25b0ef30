/// Fully connected layer (torch's `nn.Linear`): y = x·Wᵀ + b over the last axis.
///
///     x:      (…, K)   any leading shape, treated as M = count / K rows
///     weight: (N, K)   torch's layout, so checkpoints line up with the reference models
///     bias:   (N) or nil
///     result: (…, N)
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let (m, k, n) = linearShapes(x, weight, bias, op: "linear")
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [n])
    if m == 0 { return y }
    if let bias {
        // The bias goes in first and the GEMM adds onto it (beta = 1): one pass over y instead of
        // OpenBLAS zeroing it (beta = 0) and a second pass adding the bias.
        let ys = y.data, bs = bias.data
        parallelChunks(m, minChunk: max(1, 32768 / max(n, 1))) { rows in
            for r in rows { (ys + r * n).update(from: bs, count: n) }
        }
    }
    BLAS.sgemm(transB: true, m: m, n: n, k: k, a: x.data, lda: k, b: weight.data, ldb: k, beta: bias == nil ? 0 : 1, c: y.data, ldc: n)
    return y
}

/// Gradients of `linear`.
public struct LinearGradients {
    /// (…, K), nil when not requested
    public var input: Tensor?
    /// (N, K)
    public var weight: Tensor
    /// (N), nil when the layer has no bias
    public var bias: Tensor?
}

/// Backward of `linear`: dX = dY·W, dW = dYᵀ·X, db = Σ_rows dY.
///
///     gradOutput: (…, N),  x: (…, K),  weight: (N, K)
public func linearBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool,
                           needsInputGradient: Bool = true) -> LinearGradients {
    let (m, k, n) = linearShapes(x, weight, nil, op: "linearBackward")
    precondition(gradOutput.count == m * n && gradOutput.shape.last == n,
                 "linearBackward: gradOutput \(gradOutput.shape) does not match input \(x.shape) · weight \(weight.shape)ᵀ")
    let dW = Tensor(uninitialized: weight.shape)
    if m == 0 { dW.fill(0) } else {
        BLAS.sgemm(transA: true, m: n, n: k, k: m, a: gradOutput.data, lda: n, b: x.data, ldb: k, c: dW.data, ldc: k)
    }
    var dX: Tensor? = nil
    if needsInputGradient {
        let g = Tensor(uninitialized: x.shape)
        if m > 0 { BLAS.sgemm(m: m, n: k, k: n, a: gradOutput.data, lda: n, b: weight.data, ldb: k, c: g.data, ldc: k) }
        dX = g
    }
    return LinearGradients(input: dX, weight: dW, bias: hasBias ? columnSums(gradOutput.data, rows: m, columns: n) : nil)
}

/// Σ over rows of a (rows, columns) matrix → (columns). Fixed split and summation order, so the
/// result is the same bits on every run (resumed training must match a straight run exactly).
func columnSums(_ a: UnsafeMutablePointer<Float>, rows: Int, columns: Int) -> Tensor {
    let out = Tensor(zeros: [columns])
    let o = out.data
    parallelChunks(columns, minChunk: 16) { cols in
        for r in 0..<rows {
            let row = a + r * columns
            for j in cols { o[j] += row[j] }
        }
    }
    return out
}

private func linearShapes(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, op: String) -> (Int, Int, Int) {
    precondition(weight.rank == 2, "\(op): weight must be (out, in), got \(weight.shape)")
    let n = weight.shape[0], k = weight.shape[1]
    precondition(x.rank >= 1 && x.shape.last == k,
                 "\(op): input \(x.shape) must end in \(k) features for weight \(weight.shape)")
    if let bias { precondition(bias.shape == [n], "\(op): bias \(bias.shape) ≠ [\(n)] for weight \(weight.shape)") }
    return (k == 0 ? 0 : x.count / k, k, n)
}
