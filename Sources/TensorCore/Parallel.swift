import Foundation

/// Runs `body(i)` for i in 0..<count across the machine's cores (GCD's concurrentPerform).
/// Use for loops that GEMM does not already parallelise; keep each chunk large.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { if count == 1 { body(0) }; return }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// Splits 0..<total into about one chunk per core and runs `body(range)` for each in parallel.
public func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let chunks = max(1, min(cores, total / max(minChunk, 1)))
    if chunks == 1 { if total > 0 { body(0..<total) }; return }
    parallelFor(chunks) { c in
        let lo = total * c / chunks, hi = total * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Wraps a value (raw pointers, closures) that we promise to use safely across threads.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
