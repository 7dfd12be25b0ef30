import Foundation

// Layer normalisation over the last axis, with an affine transform that may differ per group of
// rows. One kernel serves three uses:
//  - torch's LayerNorm: gamma/beta (1, C), shared by every row;
//  - DiMR's time-dependent LayerNorm: gamma(t)/beta(t) (B, C), one pair per sample;
//  - DiT's adaLN modulate(LN(x), shift, scale): gamma = 1 + scale, beta = shift, (B, C).
// Rows are split into G equal groups (G = gamma's first dimension); row r uses group r / (R/G).

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
        for r in range {
            let xr = xs + r * c, yr = ys + r * c
            var sum: Float = 0
            for j in 0..<c { sum += xr[j] }
            let mean = sum / Float(c)
            var sq: Float = 0
            for j in 0..<c { let d = xr[j] - mean; sq += d * d }
            let rstd = 1 / (sq / Float(c) + eps).squareRoot()
            ms[r] = mean; rs[r] = rstd
            let g = r / perGroup
            let gr = gs.map { $0 + g * c }, br = bs.map { $0 + g * c }
            for j in 0..<c {
                var v = (xr[j] - mean) * rstd
                if let gr { v *= gr[j] }
                if let br { v += br[j] }
                yr[j] = v
            }
        }
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
        for r in range {
            let xr = xs + r * c, dy = dys + r * c, d = dxs + r * c
            let mean = ms[r], rstd = rs[r]
            let gr = gs.map { $0 + (r / perGroup) * c }
            var meanD: Float = 0, meanDX: Float = 0
            for j in 0..<c {
                let dxhat = gr.map { dy[j] * $0[j] } ?? dy[j]
                meanD += dxhat
                meanDX += dxhat * (xr[j] - mean) * rstd
            }
            meanD /= Float(c); meanDX /= Float(c)
            for j in 0..<c {
                let xhat = (xr[j] - mean) * rstd
                let dxhat = gr.map { dy[j] * $0[j] } ?? dy[j]
                d[j] = rstd * (dxhat - meanD - xhat * meanDX)
            }
        }
    }
    let xs = x.data, ms = cache.mean.data, rs = cache.inverseScale.data
    let params = groupedParameterGradients(gradOutput, rows: rows, columns: c, groups: groups, wantGamma: gamma != nil,
                                           wantBeta: hasBeta) { r, j in (xs[r * c + j] - ms[r]) * rs[r] }
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
        for r in range {
            let xr = xs + r * c, yr = ys + r * c
            var sq: Float = 0
            for j in 0..<c { sq += xr[j] * xr[j] }
            let s = 1 / ((sq / Float(c)).squareRoot() + eps)
            rs[r] = s
            if let g = gs.map({ $0 + (r / perGroup) * c }) {
                for j in 0..<c { yr[j] = xr[j] * s * g[j] }
            } else {
                for j in 0..<c { yr[j] = xr[j] * s }
            }
        }
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
        for r in range {
            let xr = xs + r * c, dy = dys + r * c, d = dxs + r * c, s = rs[r]
            let gr = gs.map { $0 + (r / perGroup) * c }
            var dot: Float = 0, sq: Float = 0
            for j in 0..<c {
                dot += (gr.map { dy[j] * $0[j] } ?? dy[j]) * xr[j]
                sq += xr[j] * xr[j]
            }
            let rms = (sq / Float(c)).squareRoot()
            let k = rms > 0 ? dot * s * s / (Float(c) * rms) : 0
            for j in 0..<c { d[j] = s * (gr.map { dy[j] * $0[j] } ?? dy[j]) - xr[j] * k }
        }
    }
    let xs = x.data, rs = cache.inverseScale.data
    let params = groupedParameterGradients(gradOutput, rows: rows, columns: c, groups: groups, wantGamma: gamma != nil,
                                           wantBeta: false) { r, j in xs[r * c + j] * rs[r] }
    return NormalizationGradients(input: dx, gamma: params.gamma, beta: nil)
}

/// Σ over the rows of each group of dy ⊙ x̂ (gamma) and of dy (beta), where `normalized(r, j)`
/// recomputes x̂. Parallel over columns, so each sum runs in one fixed order (bit-reproducible).
private func groupedParameterGradients(_ gradOutput: Tensor, rows: Int, columns c: Int, groups: Int, wantGamma: Bool,
                                       wantBeta: Bool, normalized: (Int, Int) -> Float) -> (gamma: Tensor?, beta: Tensor?) {
    let dGamma = wantGamma ? Tensor(zeros: [groups, c]) : nil
    let dBeta = wantBeta ? Tensor(zeros: [groups, c]) : nil
    if !wantGamma && !wantBeta { return (nil, nil) }
    let perGroup = rows / groups
    let dys = gradOutput.data, dgs = dGamma?.data, dbs = dBeta?.data
    parallelChunks(c, minChunk: 8) { cols in
        for r in 0..<rows {
            let g = r / perGroup, dy = dys + r * c
            if let dgs { let o = dgs + g * c; for j in cols { o[j] += dy[j] * normalized(r, j) } }
            if let dbs { let o = dbs + g * c; for j in cols { o[j] += dy[j] } }
        }
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
