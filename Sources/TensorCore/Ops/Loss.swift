/// Mean squared error, mean over every element: Σ w_b (p − t)² / count (summed in double), where
/// w_b is the weight of the element's sample (its index along the first axis; all 1 when nil).
///
///     prediction, target: same shape (B, …) → scalar;  sampleWeights: B values or nil
public func mseLoss(_ prediction: Tensor, _ target: Tensor, sampleWeights: [Float]? = nil) -> Float {
    precondition(prediction.shape == target.shape, "mseLoss: prediction \(prediction.shape) ≠ target \(target.shape)")
    let per = sampleSize(prediction, sampleWeights, op: "mseLoss")
    var sum: Double = 0
    let p = prediction.data, t = target.data
    for i in 0..<prediction.count {
        let d = Double(p[i] - t[i])
        sum += d * d * Double(sampleWeights?[i / per] ?? 1)
    }
    return Float(sum / Double(max(prediction.count, 1)))
}

/// dL/dprediction of `weight · mseLoss`: 2·weight·w_b·(p − t)/count.
public func mseLossBackward(_ prediction: Tensor, _ target: Tensor, weight: Float = 1, sampleWeights: [Float]? = nil) -> Tensor {
    precondition(prediction.shape == target.shape, "mseLossBackward: prediction \(prediction.shape) ≠ target \(target.shape)")
    let per = sampleSize(prediction, sampleWeights, op: "mseLossBackward")
    let g = Tensor(uninitialized: prediction.shape)
    let k = 2 * weight / Float(max(prediction.count, 1))
    let p = prediction.data, t = target.data, gs = g.data
    for i in 0..<prediction.count { gs[i] = k * (sampleWeights?[i / per] ?? 1) * (p[i] - t[i]) }
    return g
}

private func sampleSize(_ x: Tensor, _ weights: [Float]?, op: String) -> Int {
    guard let weights else { return max(x.count, 1) }
    precondition(x.rank >= 1 && weights.count == x.shape[0], "\(op): \(weights.count) sample weights for shape \(x.shape)")
    return max(x.count / max(x.shape[0], 1), 1)
}
