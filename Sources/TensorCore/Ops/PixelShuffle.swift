/// Rearranges channels into space (torch's `pixel_shuffle`):
/// y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w].
///
///     x: (N, C·r², H, W) → (N, C, H·r, W·r)
public func pixelShuffle(_ x: Tensor, factor r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelShuffle: input must be (N, C·r², H, W), got shape \(x.shape)")
    precondition(r >= 1 && x.shape[1] % (r * r) == 0,
                 "pixelShuffle: channels \(x.shape[1]) of input \(x.shape) must divide by factor² = \(r * r)")
    let n = x.shape[0], c = x.shape[1] / (r * r), h = x.shape[2], w = x.shape[3]
    let y = Tensor(uninitialized: [n, c, h * r, w * r])
    shuffle(x.data, y.data, n: n, c: c, h: h, w: w, r: r, toSpace: true)
    return y
}

/// Backward of `pixelShuffle`, which is its inverse (torch's `pixel_unshuffle`).
///
///     gradOutput: (N, C, H·r, W·r) → (N, C·r², H, W)
public func pixelShuffleBackward(_ gradOutput: Tensor, factor r: Int) -> Tensor { pixelUnshuffle(gradOutput, factor: r) }

/// Rearranges space into channels: the inverse of `pixelShuffle`.
///
///     x: (N, C, H·r, W·r) → (N, C·r², H, W)
public func pixelUnshuffle(_ x: Tensor, factor r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelUnshuffle: input must be (N, C, H·r, W·r), got shape \(x.shape)")
    precondition(r >= 1 && x.shape[2] % r == 0 && x.shape[3] % r == 0,
                 "pixelUnshuffle: height and width of input \(x.shape) must divide by factor \(r)")
    let n = x.shape[0], c = x.shape[1], h = x.shape[2] / r, w = x.shape[3] / r
    let y = Tensor(uninitialized: [n, c * r * r, h, w])
    shuffle(y.data, x.data, n: n, c: c, h: h, w: w, r: r, toSpace: false)
    return y
}

/// Moves values between the channel layout `deep` (N, C·r², H, W) and the spatial layout
/// `wide` (N, C, H·r, W·r), in the direction `toSpace` says.
private func shuffle(_ deep: UnsafeMutablePointer<Float>, _ wide: UnsafeMutablePointer<Float>,
                     n: Int, c: Int, h: Int, w: Int, r: Int, toSpace: Bool) {
    parallelChunks(n * c, minChunk: max(1, 16384 / max(h * w * r * r, 1))) { planes in
        for p in planes {
            let d = deep + p * r * r * h * w, s = wide + p * h * r * w * r
            for i in 0..<r {
                for j in 0..<r {
                    let sub = d + (i * r + j) * h * w
                    for hh in 0..<h {
                        let row = s + (hh * r + i) * w * r + j, src = sub + hh * w
                        if toSpace { for ww in 0..<w { row[ww * r] = src[ww] } }
                        else { for ww in 0..<w { src[ww] = row[ww * r] } }
                    }
                }
            }
        }
    }
}
