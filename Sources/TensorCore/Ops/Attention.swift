import Foundation

/// Multi-head scaled dot-product self-attention on a fused q|k|v projection.
///
///     qkv:    (B, T, 3·D) — per token [q | k | v], each split into `heads` slices of D/heads
///             (the layout of timm's and DiMR's `qkv` linear, so their weights fit unchanged)
///     result: (B, T, D) — heads concatenated;  probabilities: (B, heads, T, T), kept for backward
///
/// Per (sample, head): P = softmax(Q·Kᵀ/√d), O = P·V. The (sample, head) pairs run one per core
/// with single-threaded BLAS: at DiT/U-ViT sizes (T ≈ 64–256, d ≈ 32–64) each GEMM is too small
/// for OpenBLAS to split well.
public func attention(_ qkv: Tensor, heads: Int) -> (output: Tensor, probabilities: Tensor) {
    let s = AttentionShape(qkv, heads: heads, op: "attention")
    let out = Tensor(uninitialized: [s.b, s.t, s.d])
    let probs = Tensor(uninitialized: [s.b, heads, s.t, s.t])
    let qs = qkv.data, os = out.data, ps = probs.data
    withSingleThreadedBLAS {
        parallelFor(s.b * heads) { pair in
            let b = pair / heads, h = pair % heads
            let q = qs + b * s.t * 3 * s.d + h * s.hd, k = q + s.d, v = q + 2 * s.d
            let p = ps + pair * s.t * s.t
            // S = Q·Kᵀ (T×T), then softmax of S/√d in place
            BLAS.sgemm(transB: true, m: s.t, n: s.t, k: s.hd, a: q, lda: 3 * s.d, b: k, ldb: 3 * s.d, c: p, ldc: s.t)
            softmaxRowsInPlace(p, rows: s.t, columns: s.t, scale: s.scale)
            // O = P·V (T×hd) into this head's columns of the output
            BLAS.sgemm(m: s.t, n: s.hd, k: s.t, a: p, lda: s.t, b: v, ldb: 3 * s.d, c: os + b * s.t * s.d + h * s.hd, ldc: s.d)
        }
    }
    return (out, probs)
}

/// Backward of `attention`: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = softmax'(dP)/√d, dQ = dS·K, dK = dSᵀ·Q.
///
///     gradOutput: (B, T, D), qkv: (B, T, 3·D), probabilities: (B, heads, T, T) → dqkv (B, T, 3·D)
public func attentionBackward(_ gradOutput: Tensor, qkv: Tensor, probabilities: Tensor, heads: Int) -> Tensor {
    let s = AttentionShape(qkv, heads: heads, op: "attentionBackward")
    precondition(gradOutput.shape == [s.b, s.t, s.d], "attentionBackward: gradOutput \(gradOutput.shape) ≠ [\(s.b), \(s.t), \(s.d)]")
    precondition(probabilities.shape == [s.b, heads, s.t, s.t],
                 "attentionBackward: probabilities \(probabilities.shape) ≠ [\(s.b), \(heads), \(s.t), \(s.t)]")
    let dqkv = Tensor(uninitialized: qkv.shape)
    let qs = qkv.data, ps = probabilities.data, gs = gradOutput.data, ds = dqkv.data
    withSingleThreadedBLAS {
        parallelFor(s.b * heads) { pair in
            let b = pair / heads, h = pair % heads
            let base = b * s.t * 3 * s.d + h * s.hd
            let q = qs + base, k = q + s.d, v = q + 2 * s.d
            let dq = ds + base, dk = dq + s.d, dv = dq + 2 * s.d
            let p = ps + pair * s.t * s.t, dOut = gs + b * s.t * s.d + h * s.hd
            Workspace.with(s.t * s.t) { dp in
                // dV = Pᵀ·dO
                BLAS.sgemm(transA: true, m: s.t, n: s.hd, k: s.t, a: p, lda: s.t, b: dOut, ldb: s.d, c: dv, ldc: 3 * s.d)
                // dP = dO·Vᵀ, then through the softmax (and its 1/√d)
                BLAS.sgemm(transB: true, m: s.t, n: s.t, k: s.hd, a: dOut, lda: s.d, b: v, ldb: 3 * s.d, c: dp, ldc: s.t)
                softmaxBackwardRowsInPlace(dp, output: p, rows: s.t, columns: s.t, scale: s.scale)
                // dQ = dS·K, dK = dSᵀ·Q
                BLAS.sgemm(m: s.t, n: s.hd, k: s.t, a: dp, lda: s.t, b: k, ldb: 3 * s.d, c: dq, ldc: 3 * s.d)
                BLAS.sgemm(transA: true, m: s.t, n: s.hd, k: s.t, a: dp, lda: s.t, b: q, ldb: 3 * s.d, c: dk, ldc: 3 * s.d)
            }
        }
    }
    return dqkv
}

private struct AttentionShape {
    let b, t, d, hd: Int
    let scale: Float

    init(_ qkv: Tensor, heads: Int, op: String) {
        precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "\(op): qkv must be (B, T, 3·D), got \(qkv.shape)")
        b = qkv.shape[0]; t = qkv.shape[1]; d = qkv.shape[2] / 3
        precondition(heads >= 1 && d % heads == 0, "\(op): width \(d) of qkv \(qkv.shape) does not split into \(heads) heads")
        hd = d / heads
        scale = 1 / Float(hd).squareRoot()
    }
}
