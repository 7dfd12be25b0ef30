import TensorCore

/// For every row of x, the K smallest squared distances to all rows of x — the row itself
/// included, so column k is the distance to the k-th nearest *other* point (ADM's and prdc's
/// radius convention). Returns (N, K) ascending per row.
///
/// Distances come in square tiles of one blocked GEMM each; only tiles on or above the diagonal
/// are computed, and each updates the running top-K of both its rows and its columns, so the
/// work is half of N² distances and memory is one tile (blockSize², 16 MB at 2048), never N×N.
func smallestSquaredDistances(_ x: DistanceOperand, count K: Int, blockSize: Int,
                              progress: ((Int) -> Void)? = nil) -> [Float] {
    let n = x.rows
    var top = [Float](repeating: .infinity, count: n * K)
    let tile = UnsafeMutablePointer<Float>.allocate(capacity: blockSize * blockSize)
    defer { tile.deallocate() }
    let t = UncheckedSendable(tile)
    top.withUnsafeMutableBufferPointer { topBuffer in
        let top = UncheckedSendable(topBuffer.baseAddress!)
        for i0 in stride(from: 0, to: n, by: blockSize) {
            let rows = i0..<min(i0 + blockSize, n)
            for j0 in stride(from: i0, to: n, by: blockSize) {
                let cols = j0..<min(j0 + blockSize, n)
                squaredDistanceTile(x, rows, x, cols, into: tile, ld: blockSize)
                // Rows of the tile update the top-K of points in `rows` …
                parallelChunks(rows.count, minChunk: 16) { range in
                    for r in range {
                        keepSmallest(t.value + r * blockSize, count: cols.count, into: top.value + (rows.lowerBound + r) * K, K)
                    }
                }
                // … and, off the diagonal, its columns update the points in `cols`.
                if j0 != i0 {
                    parallelChunks(cols.count, minChunk: 64) { range in
                        for r in 0..<rows.count {
                            let row = t.value + r * blockSize
                            for c in range {
                                let list = top.value + (cols.lowerBound + c) * K
                                let v = row[c]
                                if v < list[K - 1] { insertSorted(v, list, K) }
                            }
                        }
                    }
                }
                progress?(rows.count * cols.count)
            }
        }
    }
    return top
}

/// Merges `count` values into an ascending list of the K smallest seen so far.
@inline(__always)
func keepSmallest(_ values: UnsafePointer<Float>, count: Int, into list: UnsafeMutablePointer<Float>, _ K: Int) {
    var threshold = list[K - 1]
    for c in 0..<count {
        let v = values[c]
        if v < threshold {
            insertSorted(v, list, K)
            threshold = list[K - 1]
        }
    }
}

@inline(__always)
func insertSorted(_ v: Float, _ list: UnsafeMutablePointer<Float>, _ K: Int) {
    var p = K - 1
    while p > 0 && list[p - 1] > v {
        list[p] = list[p - 1]
        p -= 1
    }
    list[p] = v
}
