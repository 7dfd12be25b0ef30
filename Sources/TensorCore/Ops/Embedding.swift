/// Table lookup (torch's `nn.Embedding`): row i of the result is table[indices[i]].
///
///     table: (V, D), indices: N values in 0..<V → (N, D)
public func embedding(_ table: Tensor, indices: [Int]) -> Tensor {
    precondition(table.rank == 2, "embedding: table must be (V, D), got \(table.shape)")
    let v = table.shape[0], d = table.shape[1]
    let y = Tensor(uninitialized: [indices.count, d])
    for (i, index) in indices.enumerated() {
        precondition(index >= 0 && index < v, "embedding: index \(index) at position \(i) is outside the table's \(v) rows")
        (y.data + i * d).update(from: table.data + index * d, count: d)
    }
    return y
}

/// Backward of `embedding`: each gradient row is added onto the table row it was read from
/// (rows read twice get both contributions, in order).
///
///     gradOutput: (N, D) → (V, D)
public func embeddingBackward(_ gradOutput: Tensor, indices: [Int], vocabularySize v: Int) -> Tensor {
    precondition(gradOutput.rank == 2 && gradOutput.shape[0] == indices.count,
                 "embeddingBackward: gradOutput \(gradOutput.shape) needs one row per index (\(indices.count))")
    let d = gradOutput.shape[1]
    let dTable = Tensor(zeros: [v, d])
    for (i, index) in indices.enumerated() {
        let dst = dTable.data + index * d, src = gradOutput.data + i * d
        for j in 0..<d { dst[j] += src[j] }
    }
    return dTable
}
