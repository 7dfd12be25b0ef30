import Foundation

/// Runs `body(i)` for i in 0..<count across the machine's cores (GCD's concurrentPerform).
/// Use for loops that GEMM does not already parallelise; keep each chunk large.
/// Inside `onEachCore` every worker already owns a core, and the loop runs inline.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 || OwnCore.isSet {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// Splits 0..<total into about one chunk per core and runs `body(range)` for each in parallel.
public func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = OwnCore.isSet ? 1 : ProcessInfo.processInfo.activeProcessorCount
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

/// Runs `body(worker)` for each of `workers` on a core of its own, with single-threaded BLAS and
/// every `parallelFor`/`parallelChunks` inside it running inline on that worker's thread.
///
/// Why: the tiny training models' operations are small (GEMMs of K = 32–128, elementwise passes
/// over a few hundred KB). Splitting each of them over two cores pays a thread hand-off per
/// operation and OpenBLAS's spin-waits; giving each core half of the batch instead (data
/// parallelism, as across GPUs) keeps every operation on one core, in its cache, with no hand-off.
public func onEachCore(_ workers: Int, _ body: (Int) -> Void) {
    withSingleThreadedBLAS {
        parallelFor(workers) { worker in
            OwnCore.set(true)
            defer { OwnCore.set(false) }
            body(worker)
        }
    }
}

/// The number of workers `onEachCore` should use: one per core.
public var coresForWorkers: Int { ProcessInfo.processInfo.activeProcessorCount }

/// A per-thread flag: this thread is an `onEachCore` worker.
private enum OwnCore {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    static var isSet: Bool { pthread_getspecific(key) != nil }
    static func set(_ on: Bool) { pthread_setspecific(key, on ? UnsafeRawPointer(bitPattern: 1) : nil) }
}
