import Foundation

/// Scratch buffers (im2col columns, GEMM staging) reused across calls.
///
/// Why: a 3x3 layer on a 147×147 image needs a 25 MB column buffer; allocating it per call means
/// fresh mmapped pages and a page fault per 4 KB on every layer, which cost ~15–20% of the layer.
/// Buffers go back to a small free list; at most `keep` are held.
enum Workspace {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [UnsafeMutableBufferPointer<Float>] = []
    private static let keep = 4

    /// Runs `body` with an uninitialised buffer of at least `count` floats, valid only inside `body`.
    static func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer = take(max(count, 1))
        defer { give(buffer) }
        return try body(buffer.baseAddress!)
    }

    private static func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        lock.lock(); defer { lock.unlock() }
        // the smallest free buffer that fits
        var best: Int? = nil
        for (i, b) in free.enumerated() where b.count >= count {
            if best == nil || b.count < free[best!].count { best = i }
        }
        if let i = best { return free.remove(at: i) }
        return UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    }

    private static func give(_ buffer: UnsafeMutableBufferPointer<Float>) {
        lock.lock(); defer { lock.unlock() }
        free.append(buffer)
        if free.count > keep {
            // drop the smallest: large ones are the expensive ones to re-fault
            let i = free.indices.min { free[$0].count < free[$1].count }!
            free.remove(at: i).deallocate()
        }
    }
}

/// Runs `body` with OpenBLAS limited to one thread, for kernels that split work across the
/// cores themselves (one GEMM per worker). Nested and concurrent callers are counted so the
/// previous thread count comes back only when the last one leaves.
public func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
    SingleThreadedBLAS.enter()
    defer { SingleThreadedBLAS.leave() }
    return try body()
}

private enum SingleThreadedBLAS {
    static let lock = NSLock()
    nonisolated(unsafe) static var depth = 0
    nonisolated(unsafe) static var saved = 1

    static func enter() {
        lock.lock(); defer { lock.unlock() }
        if depth == 0 { saved = BLAS.threads; if saved != 1 { BLAS.threads = 1 } }
        depth += 1
    }

    static func leave() {
        lock.lock(); defer { lock.unlock() }
        depth -= 1
        if depth == 0 && saved != 1 { BLAS.threads = saved }
    }
}

/// Number of worker threads `parallelFor` spreads over.
var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
