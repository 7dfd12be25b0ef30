import XCTest
import TensorCore

/// The BLAS loader picks an OpenBLAS core type for this CPU before the library loads.
/// These tests prove the chosen kernels compute correct results, whatever core was chosen.
final class BLASTests: XCTestCase {
    func testLoadsAndNamesItsCore() throws {
        try BLAS.ensureLoaded()
        let info = BLAS.info
        XCTAssertTrue(info.loaded)
        XCTAssertFalse(info.core.isEmpty)
        // Generic fallback kernels mean the core choice failed on a CPU we know how to serve.
        if let requested = info.requestedCore, !info.coreFromUser {
            XCTAssertEqual(info.core.lowercased(), requested.lowercased(), "asked OpenBLAS for \(requested), got \(info.core)")
        }
    }

    /// sgemm with the selected core against a float64 triple loop; relative error ≤ 1e-5
    /// (float32 accumulation over k=300 terms of magnitude ≤ 1).
    func testSgemmMatchesFloat64Reference() throws {
        var rng = SystemRandomNumberGenerator()
        for (m, n, k, ta, tb) in [(37, 53, 300, false, false), (64, 1, 129, true, false), (128, 96, 257, false, true), (5, 7, 3, true, true)] {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
            var c = [Float](repeating: 0, count: m * n)
            BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n, c: &c, ldc: n)
            var maxErr = 0.0, maxRef = 0.0
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = Double(ta ? a[p * m + i] : a[i * k + p]), bv = Double(tb ? b[j * k + p] : b[p * n + j])
                    s += av * bv
                }
                maxErr = max(maxErr, abs(s - Double(c[i * n + j]))); maxRef = max(maxRef, abs(s))
            } }
            XCTAssertLessThan(maxErr / maxRef, 1e-5, "sgemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) core \(BLAS.info.core)")
        }
    }

    /// dsyevd: A·v = λ·v for every pair, to 1e-10 relative, on a random symmetric matrix.
    func testSymmetricEigenReconstructs() throws {
        let n = 50
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = Double.random(in: -1...1); a[i * n + j] = v; a[j * n + i] = v } }
        var v = a, w = [Double](repeating: 0, count: n)
        try BLAS.symmetricEigen(n: n, a: &v, w: &w)
        for e in 0..<n {
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += a[i * n + j] * v[j * n + e] }
                XCTAssertEqual(s, w[e] * v[i * n + e], accuracy: 1e-10)
            }
        }
        XCTAssertTrue(zip(w, w.dropFirst()).allSatisfy { $0 <= $1 }, "eigenvalues ascending")
    }

    /// The recorder sees every sgemm a kernel makes, from any worker thread: a strided conv2d's
    /// calls add up to its direct multiply-adds, a linear layer's one call has its shape, and calls
    /// after the recording are not kept. The replay runs the recorded calls and takes time.
    func testRecordsAndReplaysSgemmCalls() throws {
        let x = randomTensor([3, 5, 13, 11], seed: 1), w = randomTensor([6, 5, 3, 3], seed: 2)
        let (y, convCalls) = BLAS.recordingSgemmCalls { conv2d(x, weight: w, bias: nil, stride: (2, 2)) }
        XCTAssertEqual(y.shape, [3, 6, 6, 5])
        XCTAssertFalse(convCalls.isEmpty)
        let directFlops: Double = 2 * 3 * 6 * (5 * 9) * (6 * 5)   // 2 · N · O · (C · KH · KW) · (OH · OW)
        XCTAssertEqual(convCalls.map(\.flops).reduce(0, +), directFlops, "conv2d's GEMMs cover its multiply-adds")
        XCTAssertTrue(convCalls.allSatisfy { $0.m == 6 && $0.k == 45 })

        let (_, calls) = BLAS.recordingSgemmCalls { linear(randomTensor([4, 7], seed: 3), weight: randomTensor([9, 7], seed: 4), bias: nil) }
        XCTAssertEqual(calls, [SgemmCall(transB: true, m: 4, n: 9, k: 7, lda: 7, ldb: 7, ldc: 9)])

        _ = conv2d(x, weight: w, bias: nil)
        let (_, none) = BLAS.recordingSgemmCalls { () }
        XCTAssertEqual(none, [], "a call made outside the recording was kept")
        let seconds = BLAS.replaySgemmCalls(convCalls)
        XCTAssertTrue(seconds > 0 && seconds.isFinite)
        XCTAssertEqual(BLAS.replaySgemmCalls([]), 0)
    }
}
