import Foundation
import CBLAS

/// The shape of one sgemm call (row-major, as `BLAS.sgemm` takes it).
public struct SgemmCall: Sendable, Equatable {
    public var transA: Bool, transB: Bool
    public var m: Int, n: Int, k: Int
    public var lda: Int, ldb: Int, ldc: Int
    public init(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) {
        self.transA = transA; self.transB = transB
        self.m = m; self.n = n; self.k = k; self.lda = lda; self.ldb = ldb; self.ldc = ldc
    }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Why: a network's speed ceiling with OpenBLAS doing its GEMMs is best measured, not estimated
/// from a square sgemm's rate — the real calls are narrower (Winograd chunks, 8×8 maps) and pay
/// OpenBLAS's packing and C scaling on every call. `recordingSgemmCalls` captures the calls one
/// forward pass makes; `replaySgemmCalls` times those calls alone, with nothing between them.
extension BLAS {
    /// Runs `body` and returns, with its result, every sgemm call made during it, from any thread.
    /// Not reentrant: one recording at a time.
    public static func recordingSgemmCalls<R>(_ body: () throws -> R) rethrows -> (result: R, calls: [SgemmCall]) {
        SgemmRecorder.start()
        do {
            let result = try body()
            return (result, SgemmRecorder.stop())
        } catch {
            _ = SgemmRecorder.stop()
            throw error
        }
    }

    /// How many calls the recording in progress holds so far (0 when none is): read it between
    /// stages to cut the recording into the stages' calls.
    public static var recordedSgemmCallCount: Int { SgemmRecorder.count }

    /// Seconds to run `calls` with nothing else: spread round-robin over the cores, each core's
    /// share through one-threaded OpenBLAS (as the convolution kernels issue them), the operands
    /// in one buffer each sized for the largest call. The operands stay warm in cache between
    /// calls, so this is an optimistic floor: the network's real GEMMs cannot take less.
    public static func replaySgemmCalls(_ calls: [SgemmCall]) -> TimeInterval {
        guard !calls.isEmpty else { return 0 }
        let aSize = calls.map { ($0.transA ? $0.k : $0.m) * $0.lda }.max()!
        let bSize = calls.map { ($0.transB ? $0.n : $0.k) * $0.ldb }.max()!
        let cSize = calls.map { $0.m * $0.ldc }.max()!
        let workers = max(1, coreCount)
        // Small normal values: zeros could take shortcuts, denormals slow paths.
        let buffers = (0..<workers).map { _ in
            (a: Tensor(shape: [aSize], repeating: 0.01), b: Tensor(shape: [bSize], repeating: 0.01), c: Tensor(zeros: [cSize]))
        }
        let start = Date()
        withSingleThreadedBLAS {
            parallelFor(workers) { worker in
                let (a, b, c) = buffers[worker]
                for index in stride(from: worker, to: calls.count, by: workers) {
                    let call = calls[index]
                    sgemm(transA: call.transA, transB: call.transB, m: call.m, n: call.n, k: call.k,
                          a: a.data, lda: call.lda, b: b.data, ldb: call.ldb, c: c.data, ldc: call.ldc)
                }
            }
        }
        return Date().timeIntervalSince(start)
    }
}

/// Collects the calls `nb_observe_sgemm` reports while a recording runs (from any thread).
enum SgemmRecorder {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var recording = false
    nonisolated(unsafe) private static var calls: [SgemmCall] = []

    static func start() {
        lock.lock(); defer { lock.unlock() }
        precondition(!recording, "BLAS.recordingSgemmCalls is not reentrant")
        calls = []; recording = true
        nb_observe_sgemm { transA, transB, m, n, k, lda, ldb, ldc in
            SgemmRecorder.record(SgemmCall(transA: transA != 0, transB: transB != 0, m: Int(m), n: Int(n), k: Int(k),
                                           lda: Int(lda), ldb: Int(ldb), ldc: Int(ldc)))
        }
    }

    static func stop() -> [SgemmCall] {
        nb_observe_sgemm(nil)
        lock.lock(); defer { lock.unlock() }
        recording = false
        let recorded = calls
        calls = []
        return recorded
    }

    static var count: Int {
        lock.lock(); defer { lock.unlock() }
        return calls.count
    }

    static func record(_ call: SgemmCall) {
        lock.lock(); defer { lock.unlock() }
        if recording { calls.append(call) }
    }
}
