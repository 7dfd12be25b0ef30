/// Batch normalisation with running statistics (inference): per channel (axis 1),
/// y = (x − mean) / √(variance + eps) · gamma + beta.
///
///     x: (N, C, …) → same shape;  mean, variance, gamma, beta: (C)
public func batchNormInference(_ x: Tensor, mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?,
                               eps: Float) -> Tensor {
    precondition(x.rank >= 2, "batchNormInference: input must be (N, C, …), got shape \(x.shape)")
    let n = x.shape[0], c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
    for (name, t) in [("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)] {
        if let t { precondition(t.shape == [c], "batchNormInference: \(name) shape \(t.shape) ≠ [\(c)] for input \(x.shape)") }
    }
    let (scale, shift) = batchNormScaleShift(mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
    let y = Tensor(uninitialized: x.shape)
    let xs = x.data, ys = y.data
    parallelChunks(n * c, minChunk: max(1, 16384 / max(plane, 1))) { planes in
        for p in planes {
            let a = scale[p % c], b = shift[p % c]
            let src = xs + p * plane, dst = ys + p * plane
            for j in 0..<plane { dst[j] = src[j] * a + b }
        }
    }
    return y
}

/// Folds an inference batch norm that follows a convolution into the convolution's weight and bias:
/// conv(x, W', b') = bn(conv(x, W, b)). Saves a full pass over every activation (Inception has
/// one after each of its ~100 convolutions).
///
///     weight: (O, …), bias: (O) or nil, statistics: (O) → (weight', bias')
public func foldBatchNorm(weight: Tensor, bias: Tensor?, mean: Tensor, variance: Tensor, gamma: Tensor?,
                          beta: Tensor?, eps: Float) -> (weight: Tensor, bias: Tensor) {
    precondition(weight.rank >= 1, "foldBatchNorm: weight must be (O, …), got shape \(weight.shape)")
    let o = weight.shape[0], per = weight.count / max(o, 1)
    for (name, t) in [("bias", bias), ("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)] {
        if let t { precondition(t.shape == [o], "foldBatchNorm: \(name) shape \(t.shape) ≠ [\(o)] for weight \(weight.shape)") }
    }
    let (scale, shift) = batchNormScaleShift(mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
    let w = Tensor(uninitialized: weight.shape), b = Tensor(uninitialized: [o])
    for oc in 0..<o {
        for j in 0..<per { w.data[oc * per + j] = weight.data[oc * per + j] * scale[oc] }
        b.data[oc] = (bias?.data[oc] ?? 0) * scale[oc] + shift[oc]
    }
    return (w, b)
}

/// Per channel: bn(x) = x·scale + shift. Computed in Double so folding adds no rounding of its own.
private func batchNormScaleShift(mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?,
                                 eps: Float) -> (scale: [Float], shift: [Float]) {
    let c = mean.count
    var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
    for i in 0..<c {
        let s = Double(gamma?.data[i] ?? 1) / (Double(variance.data[i]) + Double(eps)).squareRoot()
        scale[i] = Float(s)
        shift[i] = Float(Double(beta?.data[i] ?? 0) - Double(mean.data[i]) * s)
    }
    return (scale, shift)
}
