/// Matrix product of 2-D tensors on BLAS: op(a)·op(b), where op transposes when its flag is set.
///
///     a: (M, K), or (K, M) with transA;  b: (K, N), or (N, K) with transB  → (M, N)
public func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: both operands must be 2-D, got \(a.shape) and \(b.shape)")
    let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
    let kb = transB ? b.shape[1] : b.shape[0], n = transB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions differ: a \(a.shape)\(transA ? "ᵀ" : "") · b \(b.shape)\(transB ? "ᵀ" : "") (\(k) vs \(kb))")
    let c = Tensor(uninitialized: [m, n])
    if k == 0 { c.fill(0); return c }
    if m > 0 && n > 0 {
        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: a.shape[1],
                   b: b.data, ldb: b.shape[1], c: c.data, ldc: n)
    }
    return c
}
