import Foundation

// Elementwise activations, each forward beside its backward. Backwards take the forward's
// input (not output) and return dL/dx for the given dL/dy.

/// Which GELU: torch's exact `nn.GELU()` (erf) or its `approximate="tanh"` form (DiT's MLP).
public enum GELUKind: String, Sendable, Codable {
    case exact, tanh
}

/// GELU(x) = x·Φ(x).
///
///     x: any shape → same shape
public func gelu(_ x: Tensor, kind: GELUKind = .exact) -> Tensor {
    let y = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, ys = y.data] r in
        switch kind {
        case .exact: for i in r { ys[i] = geluExact(xs[i]) }
        case .tanh: for i in r { ys[i] = geluTanh(xs[i]) }
        }
    }
    return y
}

/// dL/dx of `gelu` at input `x`.
public func geluBackward(_ gradOutput: Tensor, input x: Tensor, kind: GELUKind = .exact) -> Tensor {
    precondition(gradOutput.shape == x.shape, "geluBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, gs = gradOutput.data, ds = dx.data] r in
        for i in r { ds[i] = gs[i] * geluDerivative(xs[i], kind) }
    }
    return dx
}

/// SiLU(x) = x·sigmoid(x) (DiT's conditioning MLP and adaLN input).
public func silu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, ys = y.data] r in
        for i in r { ys[i] = xs[i] / (1 + Foundation.exp(-xs[i])) }
    }
    return y
}

public func siluBackward(_ gradOutput: Tensor, input x: Tensor) -> Tensor {
    precondition(gradOutput.shape == x.shape, "siluBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, gs = gradOutput.data, ds = dx.data] r in
        for i in r {
            let s = 1 / (1 + Foundation.exp(-xs[i]))
            ds[i] = gs[i] * s * (1 + xs[i] * (1 - s))
        }
    }
    return dx
}

public func relu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, ys = y.data] r in for i in r { ys[i] = max(xs[i], 0) } }
    return y
}

public func reluBackward(_ gradOutput: Tensor, input x: Tensor) -> Tensor {
    precondition(gradOutput.shape == x.shape, "reluBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, gs = gradOutput.data, ds = dx.data] r in
        for i in r { ds[i] = xs[i] > 0 ? gs[i] : 0 }
    }
    return dx
}

/// Gated GELU unit (the GLU MLP of DiMR's blocks): the input's last axis holds the two halves
/// [a | b] of one fused projection, and the result is GELU(a) ⊙ b.
///
///     x: (…, 2H) → (…, H)
public func gatedGELU(_ x: Tensor, kind: GELUKind = .exact) -> Tensor {
    let (rows, h) = gluShape(x, op: "gatedGELU")
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [h])
    parallelChunks(rows, minChunk: max(1, 8192 / max(h, 1))) { [xs = x.data, ys = y.data] range in
        for r in range {
            let a = xs + r * 2 * h, b = a + h, out = ys + r * h
            switch kind {
            case .exact: for j in 0..<h { out[j] = geluExact(a[j]) * b[j] }
            case .tanh: for j in 0..<h { out[j] = geluTanh(a[j]) * b[j] }
            }
        }
    }
    return y
}

/// dL/dx of `gatedGELU`: d a = dy·b·GELU'(a), d b = dy·GELU(a).
///
///     gradOutput: (…, H), x: (…, 2H) → (…, 2H)
public func gatedGELUBackward(_ gradOutput: Tensor, input x: Tensor, kind: GELUKind = .exact) -> Tensor {
    let (rows, h) = gluShape(x, op: "gatedGELUBackward")
    precondition(gradOutput.count == rows * h, "gatedGELUBackward: gradOutput \(gradOutput.shape) does not match input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    parallelChunks(rows, minChunk: max(1, 8192 / max(h, 1))) { [xs = x.data, gs = gradOutput.data, ds = dx.data] range in
        for r in range {
            let a = xs + r * 2 * h, b = a + h, g = gs + r * h, da = ds + r * 2 * h, db = da + h
            for j in 0..<h {
                let ga = kind == .exact ? geluExact(a[j]) : geluTanh(a[j])
                da[j] = g[j] * b[j] * geluDerivative(a[j], kind)
                db[j] = g[j] * ga
            }
        }
    }
    return dx
}

// MARK: - scalar forms

@inline(__always) func geluExact(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }

@inline(__always) func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x)))
}

@inline(__always) func geluDerivative(_ x: Float, _ kind: GELUKind) -> Float {
    switch kind {
    case .exact:
        // Φ(x) + x·φ(x)
        let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
        return cdf + x * 0.39894228040143268 * expf(-0.5 * x * x)
    case .tanh:
        let u = 0.79788456080286536 * (x + 0.044715 * x * x * x)
        let t = tanhf(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.79788456080286536 * (1 + 3 * 0.044715 * x * x)
    }
}

/// Splits 0..<count into chunks of at least 16K elements across the cores.
@inline(__always) func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(count, minChunk: 16384, body)
}

private func gluShape(_ x: Tensor, op: String) -> (rows: Int, half: Int) {
    precondition(x.rank >= 1 && x.shape.last! % 2 == 0, "\(op): last axis of \(x.shape) must be even ([a | b] halves)")
    let h = x.shape.last! / 2
    return (h == 0 ? 0 : x.count / (2 * h), h)
}
