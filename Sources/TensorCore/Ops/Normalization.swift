import CKernels
import Foundation

// Layer normalisation over the last axis, with an affine transform that may differ per group of
// rows. One kernel serves three uses:
//  - torch's LayerNorm: gamma/beta (1, C), shared by every row;
//  - DiMR's time-dependent LayerNorm: gamma(t)/beta(t) (B, C), one pair per sample;
//  - DiT's adaLN modulate(LN(x), shift, scale): gamma = 1 + scale, beta = shift, (B, C).
// Rows are split into G equal groups (G = gamma's first dimension); row r uses group r / (R/G).
// The per-row loops are C (Sources/CKernels, built for AVX2 + FMA beside the baseline): in Swift
// they were scalar — a float sum is not reassociated into vector lanes — and LayerNorm's forward
// and backward took 5.7% of U-ViT's training step (perf).

/// What the backward pass needs from the forward one.
public struct NormalizationCache {
    /// (R) per-row mean (LayerNorm only; zeros for RMSNorm)
    public var mean: Tensor
    /// (R) per-row 1/σ (LayerNorm) or 1/(rms + eps) (RMSNorm)
    public var inverseScale: Tensor
}

/// y = (x − mean)/√(var + eps) · gamma_g + beta_g.
///
///     x: (…, C), R = count / C rows;  gamma, beta: (G, C) with R % G == 0, or nil (no affine)
///     result: same shape as x
public func layerNorm(_ x: Tensor, gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) -> (Tensor, NormalizationCache) {
    let (rows, c, groups) = normShapes(x, gamma, beta, op: "layerNorm")
    let y = Tensor(uninitialized: x.shape)
    let cache = NormalizationCache(mean: Tensor(uninitialized: [rows]), inverseScale: Tensor(uninitialized: [rows]))
    let perGroup = rows / groups
    parallelChunks(rows, minChunk: max(1, 16384 / max(c, 1))) {
        [xs = x.data, ys = y.data, gs = gamma?.data, bs = beta?.data, ms = cache.mean.data, rs = cache.inverseScale.data] range in
        let r0 = range.lowerBound
        vk_layer_norm(xs + r0 * c, ys + r0 * c, ms + r0, rs + r0, gs, bs, r0, range.count, c, perGroup, eps)
    }
    return (y, cache)
}

/// Gradients of a normalisation layer.
public struct NormalizationGradients {
    /// same shape as x
    public var input: Tensor
    /// (G, C) or nil
    public var gamma: Tensor?
    /// (G, C) or nil
    public var beta: Tensor?
}

/// Backward of `layerNorm`:
/// dx = rstd·(d x̂ − mean(d x̂) − x̂·mean(d x̂ ⊙ x̂)) with d x̂ = dy ⊙ gamma_g;
/// dgamma_g = Σ_rows∈g dy ⊙ x̂, dbeta_g = Σ_rows∈g dy.
public func layerNormBackward(_ gradOutput: Tensor, input x: Tensor, gamma: Tensor?, hasBeta: Bool,
                              cache: NormalizationCache) -> NormalizationGradients {
    precondition(gamma != nil || !hasBeta, "layerNormBackward: a beta without a gamma is not supported")
    let (rows, c, groups) = normShapes(x, gamma, nil, op: "layerNormBackward")
    precondition(gradOutput.shape == x.shape, "layerNormBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    let perGroup = rows / groups
    parallelChunks(rows, minChunk: max(1, 16384 / max(c, 1))) {
        [xs = x.data, dys = gradOutput.data, dxs = dx.data, gs = gamma?.data, ms = cache.mean.data, rs = cache.inverseScale.data] range in
        let r0 = range.lowerBound
        vk_layer_norm_backward(xs + r0 * c, dys + r0 * c, dxs + r0 * c, gs, ms + r0, rs + r0, r0, range.count, c, perGroup)
    }
    let params = groupedParameterGradients(gradOutput, input: x, mean: cache.mean, scale: cache.inverseScale, rows: rows,
                                           columns: c, groups: groups, wantGamma: gamma != nil, wantBeta: hasBeta)
    return NormalizationGradients(input: dx, gamma: params.gamma, beta: params.beta)
}

/// RMSNorm as in DiMR's `RMSNorm`/`TDRMSNorm`: y = x / (rms(x) + eps) · gamma_g, rms = ‖x‖/√C.
/// (eps is added to the rms, not inside the square root, as the official code does.)
///
///     x: (…, C);  gamma: (G, C) or nil  → same shape as x
public func rmsNorm(_ x: Tensor, gamma: Tensor?, eps: Float = 1e-8) -> (Tensor, NormalizationCache) {
    let (rows, c, groups) = normShapes(x, gamma, nil, op: "rmsNorm")
    let y = Tensor(uninitialized: x.shape)
    let cache = NormalizationCache(mean: Tensor(zeros: [rows]), inverseScale: Tensor(uninitialized: [rows]))
    let perGroup = rows / groups
    parallelChunks(rows, minChunk: max(1, 16384 / max(c, 1))) { [xs = x.data, ys = y.data, gs = gamma?.data, rs = cache.inverseScale.data] range in
        let r0 = range.lowerBound
        vk_rms_norm(xs + r0 * c, ys + r0 * c, rs + r0, gs, r0, range.count, c, perGroup, eps)
    }
    return (y, cache)
}

/// Backward of `rmsNorm`. With s = 1/(rms + eps) and u = dy ⊙ gamma:
/// dx = s·u − x · (Σ u⊙x) · s² / (C·rms);  dgamma_g = Σ_rows∈g dy ⊙ x·s.
public func rmsNormBackward(_ gradOutput: Tensor, input x: Tensor, gamma: Tensor?, cache: NormalizationCache) -> NormalizationGradients {
    let (rows, c, groups) = normShapes(x, gamma, nil, op: "rmsNormBackward")
    precondition(gradOutput.shape == x.shape, "rmsNormBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    let perGroup = rows / groups
    parallelChunks(rows, minChunk: max(1, 16384 / max(c, 1))) {
        [xs = x.data, dys = gradOutput.data, dxs = dx.data, gs = gamma?.data, rs = cache.inverseScale.data] range in
        let r0 = range.lowerBound
        vk_rms_norm_backward(xs + r0 * c, dys + r0 * c, dxs + r0 * c, gs, rs + r0, r0, range.count, c, perGroup)
    }
    let params = groupedParameterGradients(gradOutput, input: x, mean: nil, scale: cache.inverseScale, rows: rows,
                                           columns: c, groups: groups, wantGamma: gamma != nil, wantBeta: false)
    return NormalizationGradients(input: dx, gamma: params.gamma, beta: nil)
}

/// Σ over the rows of each group of dy ⊙ x̂ (gamma) and of dy (beta), x̂ = (x − mean)·scale
/// (mean nil: RMSNorm). Parallel over columns, so each sum runs in one fixed order (bit-reproducible).
private func groupedParameterGradients(_ gradOutput: Tensor, input x: Tensor, mean: Tensor?, scale: Tensor, rows: Int,
                                       columns c: Int, groups: Int, wantGamma: Bool, wantBeta: Bool) -> (gamma: Tensor?, beta: Tensor?) {
    let dGamma = wantGamma ? Tensor(zeros: [groups, c]) : nil
    let dBeta = wantBeta ? Tensor(zeros: [groups, c]) : nil
    if !wantGamma && !wantBeta { return (nil, nil) }
    parallelChunks(c, minChunk: 8) { [xs = x.data, dys = gradOutput.data, ms = mean?.data, ss = scale.data, dgs = dGamma?.data, dbs = dBeta?.data] cols in
        vk_norm_parameter_gradients(xs, dys, ms, ss, dgs, dbs, rows, c, rows / groups, cols.lowerBound, cols.upperBound)
    }
    return (dGamma, dBeta)
}

private func normShapes(_ x: Tensor, _ gamma: Tensor?, _ beta: Tensor?, op: String) -> (rows: Int, columns: Int, groups: Int) {
    precondition(x.rank >= 1, "\(op): input must have a feature axis, got shape \(x.shape)")
    let c = x.shape.last!
    let rows = c == 0 ? 0 : x.count / c
    let reference = gamma ?? beta
    var groups = 1
    if let reference {
        precondition(reference.rank == 2 && reference.shape[1] == c,
                     "\(op): gamma/beta must be (groups, \(c)) for input \(x.shape), got \(reference.shape)")
        groups = reference.shape[0]
        precondition(groups >= 1 && rows % groups == 0,
                     "\(op): \(rows) rows of input \(x.shape) do not split into \(groups) groups")
    }
    if let gamma, let beta {
        precondition(gamma.shape == beta.shape, "\(op): gamma \(gamma.shape) and beta \(beta.shape) differ in shape")
    }
    return (rows, c, groups)
}
