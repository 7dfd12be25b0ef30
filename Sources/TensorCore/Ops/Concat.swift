/// Joins tensors along `axis` (negative counts from the end); all other dimensions must agree.
///
///     xs[i]: (d0, …, a_i, …, dr) → (d0, …, Σ a_i, …, dr)
public func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    precondition(!xs.isEmpty, "concat: no tensors given")
    let rank = xs[0].rank
    let ax = axis < 0 ? axis + rank : axis
    precondition(ax >= 0 && ax < rank, "concat: axis \(axis) out of range for rank \(rank) (shape \(xs[0].shape))")
    var shape = xs[0].shape
    for t in xs.dropFirst() {
        precondition(t.rank == rank && t.shape.enumerated().allSatisfy { $0.offset == ax || $0.element == shape[$0.offset] },
                     "concat along axis \(ax): shapes disagree off that axis: \(xs.map(\.shape))")
    }
    shape[ax] = xs.reduce(0) { $0 + $1.shape[ax] }
    let y = Tensor(uninitialized: shape)
    let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
    let rowOut = shape[ax] * inner
    let pieces = xs.map { ($0.data, $0.shape[ax] * inner) }
    let ys = y.data
    parallelChunks(outer, minChunk: max(1, 65536 / max(rowOut, 1))) { range in
        for r in range {
            var offset = 0
            for (src, len) in pieces {
                (ys + r * rowOut + offset).update(from: src + r * len, count: len)
                offset += len
            }
        }
    }
    return y
}

/// The backward of `concat`: cuts `x` along `axis` into pieces of the given sizes.
///
///     x: (…, Σ sizes, …) → [(…, sizes[i], …)]
public func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    let ax = axis < 0 ? axis + x.rank : axis
    precondition(ax >= 0 && ax < x.rank, "split: axis \(axis) out of range for shape \(x.shape)")
    precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == x.shape[ax],
                 "split: sizes \(sizes) must add up to \(x.shape[ax]) (axis \(ax) of shape \(x.shape))")
    let outer = x.shape[..<ax].reduce(1, *), inner = x.shape[(ax + 1)...].reduce(1, *)
    let rowIn = x.shape[ax] * inner
    var offset = 0
    return sizes.map { size in
        var shape = x.shape; shape[ax] = size
        let t = Tensor(uninitialized: shape)
        let len = size * inner, start = offset, src = x.data, dst = t.data
        parallelChunks(outer, minChunk: max(1, 65536 / max(len, 1))) { range in
            for r in range { (dst + r * len).update(from: src + r * rowIn + start, count: len) }
        }
        offset += len
        return t
    }
}
