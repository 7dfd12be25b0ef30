import CKernels
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
        vk_gelu(xs + r.lowerBound, ys + r.lowerBound, r.count, kind.tanhForm)
    }
    return y
}

/// dL/dx of `gelu` at input `x`.
public func geluBackward(_ gradOutput: Tensor, input x: Tensor, kind: GELUKind = .exact) -> Tensor {
    precondition(gradOutput.shape == x.shape, "geluBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, gs = gradOutput.data, ds = dx.data] r in
        vk_gelu_backward(xs + r.lowerBound, gs + r.lowerBound, ds + r.lowerBound, r.count, kind.tanhForm)
    }
    return dx
}

/// SiLU(x) = x·sigmoid(x) (DiT's conditioning MLP and adaLN input).
public func silu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, ys = y.data] r in
        forEachLanes(r) { i, w in let v = loadLanes(xs, i, w); storeLanes(v * fastSigmoid(v), ys, i, w) }
    }
    return y
}

public func siluBackward(_ gradOutput: Tensor, input x: Tensor) -> Tensor {
    precondition(gradOutput.shape == x.shape, "siluBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    let dx = Tensor(uninitialized: x.shape)
    elementwise(x.count) { [xs = x.data, gs = gradOutput.data, ds = dx.data] r in
        forEachLanes(r) { i, w in
            let v = loadLanes(xs, i, w), s = fastSigmoid(v)
            storeLanes(loadLanes(gs, i, w) * s * (1 + v * (1 - s)), ds, i, w)
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
        vk_gated_gelu(xs + range.lowerBound * 2 * h, ys + range.lowerBound * h, range.count, h, kind.tanhForm)
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
        vk_gated_gelu_backward(xs + range.lowerBound * 2 * h, gs + range.lowerBound * h, ds + range.lowerBound * 2 * h,
                               range.count, h, kind.tanhForm)
    }
    return dx
}

// MARK: - helpers

extension GELUKind {
    /// The C kernels' switch (Sources/CKernels: the same formulas as FastMath.swift, compiled for
    /// AVX2 + FMA beside the baseline and chosen at run time).
    var tanhForm: Int32 { self == .tanh ? 1 : 0 }
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
