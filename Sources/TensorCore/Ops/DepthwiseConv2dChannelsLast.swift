import CKernels
import Foundation

/// Depthwise K×K convolution on channels-last images (B, H, W, C): stride 1, zero "same" padding
/// K/2, K odd — ConvNeXt's 7×7 token mixer as DiMR's high-resolution branches use it, whose
/// tokens are already (B, h·w, D). The channels-first kernel (`conv2d` with groups == C) needs
/// the tokens permuted to (B, D, h, w) and back, forward and backward: four strided passes over
/// the largest activations of the step: 5.6% of DiMR's training step in perf, beside 8.1% for
/// the convolution's own taps. Here the channel axis is the contiguous one, so each tap is one
/// eight-lane multiply-add across channels and no permute is needed.
///
/// The weight keeps torch's layout (C, 1, K, K), so checkpoints are unchanged.

/// y[b, h, w, c] = bias[c] + Σ_{i,j} x[b, h + i − K/2, w + j − K/2, c] · weight[c, 0, i, j]
///
///     x: (B, H, W, C), weight: (C, 1, K, K), bias: (C) or nil → (B, H, W, C)
public func depthwiseConv2dChannelsLast(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let (b, h, w, c, k) = channelsLastShape(x, weight: weight, op: "depthwiseConv2dChannelsLast")
    precondition(bias == nil || bias!.count == c, "depthwiseConv2dChannelsLast: bias \(bias!.shape) for \(c) channels")
    let y = Tensor(uninitialized: x.shape)
    let taps = tapMajor(weight, channels: c, kernel: k, flipped: false)
    depthwiseChannelsLastRows(x.data, taps.data, bias?.data, y.data, batch: b, height: h, width: w, channels: c, kernel: k)
    return y
}

/// dL/dx, dL/dweight (torch's layout) and dL/dbias of `depthwiseConv2dChannelsLast`.
public func depthwiseConv2dChannelsLastBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor,
                                                needsInputGradient: Bool = true) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
    let (b, h, w, c, k) = channelsLastShape(x, weight: weight, op: "depthwiseConv2dChannelsLastBackward")
    precondition(gradOutput.shape == x.shape, "depthwiseConv2dChannelsLastBackward: gradOutput \(gradOutput.shape) ≠ input \(x.shape)")
    var dx: Tensor?
    if needsInputGradient {
        // dx is the same convolution of dy with the kernel turned by 180° (odd K: same padding)
        let flipped = tapMajor(weight, channels: c, kernel: k, flipped: true)
        let result = Tensor(uninitialized: x.shape)
        depthwiseChannelsLastRows(gradOutput.data, flipped.data, nil, result.data, batch: b, height: h, width: w, channels: c, kernel: k)
        dx = result
    }
    let (dw, db) = depthwiseChannelsLastWeightGradient(x.data, gradOutput.data, batch: b, height: h, width: w, channels: c, kernel: k)
    return (dx, dw, db)
}

private func channelsLastShape(_ x: Tensor, weight: Tensor, op: String) -> (Int, Int, Int, Int, Int) {
    precondition(x.rank == 4, "\(op): input \(x.shape) is not (B, H, W, C)")
    let c = x.shape[3], k = weight.rank == 4 ? weight.shape[2] : 0
    precondition(weight.shape == [c, 1, k, k] && k % 2 == 1,
                 "\(op): weight \(weight.shape) is not (\(c), 1, K, K) with K odd")
    return (x.shape[0], x.shape[1], x.shape[2], c, k)
}

/// weight (C, 1, K, K) → (K·K, C): one tap's C values contiguous, optionally turned by 180°.
private func tapMajor(_ weight: Tensor, channels c: Int, kernel k: Int, flipped: Bool) -> Tensor {
    let taps = k * k
    let t = Tensor(uninitialized: [taps, c])
    for ch in 0..<c {
        for tap in 0..<taps { t.data[(flipped ? taps - 1 - tap : tap) * c + ch] = weight.data[ch * taps + tap] }
    }
    return t
}

/// The forward's loops (C, Sources/CKernels: eight channels per vector, AVX2 + FMA when the CPU
/// has them), one output row (b, oh) per job.
private func depthwiseChannelsLastRows(_ xs: UnsafeMutablePointer<Float>, _ taps: UnsafeMutablePointer<Float>,
                                       _ bias: UnsafeMutablePointer<Float>?, _ ys: UnsafeMutablePointer<Float>,
                                       batch: Int, height: Int, width: Int, channels c: Int, kernel k: Int) {
    parallelChunks(batch * height, minChunk: max(1, 65536 / max(width * c * k * k, 1))) { rows in
        vk_depthwise_cl_rows(xs, taps, bias, ys, height, width, c, k, rows.lowerBound, rows.upperBound)
    }
}

/// dW[c, i, j] = Σ_{b,h,w} dy[b, h, w, c] · x[b, h + i − K/2, w + j − K/2, c] and dbias[c] = Σ dy.
/// Each image's sums accumulate in Float (C kernel; ≤ 1,024 terms at 32×32) and are added
/// across images in Double. Parallel over images, one accumulator per chunk, summed in chunk
/// order (the same result however the chunks are scheduled).
private func depthwiseChannelsLastWeightGradient(_ xs: UnsafeMutablePointer<Float>, _ dys: UnsafeMutablePointer<Float>,
                                                 batch: Int, height: Int, width: Int, channels c: Int, kernel k: Int)
    -> (weight: Tensor, bias: Tensor) {
    let taps = k * k, imageSize = height * width * c
    let lock = NSLock()
    var parts: [(first: Int, sums: [Double])] = []
    parallelChunks(batch) { images in
        var total = [Double](repeating: 0, count: (taps + 1) * c)     // taps, then the bias row
        var image = [Float](repeating: 0, count: (taps + 1) * c)
        image.withUnsafeMutableBufferPointer { buffer in
            let acc = buffer.baseAddress!
            for n in images {
                acc.update(repeating: 0, count: (taps + 1) * c)
                vk_depthwise_cl_weight_gradient(xs + n * imageSize, dys + n * imageSize, acc, height, width, c, k)
                for q in 0..<(taps + 1) * c { total[q] += Double(acc[q]) }
            }
        }
        lock.lock(); parts.append((images.lowerBound, total)); lock.unlock()
    }
    var sums = [Double](repeating: 0, count: (taps + 1) * c)
    for part in parts.sorted(by: { $0.first < $1.first }) { for q in 0..<sums.count { sums[q] += part.sums[q] } }
    let dw = Tensor(zeros: [c, 1, k, k]), db = Tensor(zeros: [c])
    for ch in 0..<c {
        for tap in 0..<taps { dw.data[ch * taps + tap] = Float(sums[tap * c + ch]) }
        db.data[ch] = Float(sums[taps * c + ch])
    }
    return (dw, db)
}
