/// Mean squared error, mean over every element: Σ (p − t)² / count (summed in double).
///
///     prediction, target: same shape → scalar
public func mseLoss(_ prediction: Tensor, _ target: Tensor) -> Float {
    precondition(prediction.shape == target.shape, "mseLoss: prediction \(prediction.shape) ≠ target \(target.shape)")
    var sum: Double = 0
    let p = prediction.data, t = target.data
    for i in 0..<prediction.count { let d = Double(p[i] - t[i]); sum += d * d }
    return Float(sum / Double(max(prediction.count, 1)))
}

/// dL/dprediction of `weight · mseLoss`: 2·weight·(p − t)/count.
public func mseLossBackward(_ prediction: Tensor, _ target: Tensor, weight: Float = 1) -> Tensor {
    precondition(prediction.shape == target.shape, "mseLossBackward: prediction \(prediction.shape) ≠ target \(target.shape)")
    let g = Tensor(uninitialized: prediction.shape)
    let k = 2 * weight / Float(max(prediction.count, 1))
    let p = prediction.data, t = target.data, gs = g.data
    for i in 0..<prediction.count { gs[i] = k * (p[i] - t[i]) }
    return g
}
