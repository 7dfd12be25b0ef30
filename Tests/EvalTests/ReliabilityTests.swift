import Eval
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// Issue 16, the inputs of the metrics: statistics that are not a covariance, non-finite
/// features and too few images are refused naming the file, the array and where.
final class InputReliabilityTests: XCTestCase {
    /// A 4-d statistics file (float64 unless `dtype` says otherwise).
    func writeStatistics(_ sigma: [Double], to url: URL, mu: [Double] = [0, 0, 0, 0], float32: Bool = false) throws {
        let d = mu.count
        let sigmaArray = float32 ? NpyArray(floats: sigma.map(Float.init), shape: [d, d]) : NpyArray(doubles: sigma, shape: [d, d])
        try writeNpz([("mu", NpyArray(doubles: mu, shape: [d])), ("sigma", sigmaArray)], to: url)
    }

    /// A valid covariance: AᵀA/(n−1) of a few random rows (singular when n ≤ d).
    func covariance(rows: Int, d: Int = 4, seed: UInt64 = 1) -> [Double] {
        var rng = SplitMix64(seed: seed)
        let x = (0..<(rows * d)).map { _ in rng.uniform() - 0.5 }
        var s = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { for r in 0..<rows { s[i * d + j] += x[r * d + i] * x[r * d + j] } } }
        return s.map { $0 / Double(rows - 1) }
    }

    func testCovariancesThatAreFineAreAccepted() throws {
        let dir = try temporaryDirectory(self)
        for (name, sigma) in [("full", covariance(rows: 50)), ("singular", covariance(rows: 3)), ("zero", [Double](repeating: 0, count: 16))] {
            let url = dir.appendingPathComponent("\(name).npz")
            try writeStatistics(sigma, to: url)
            XCTAssertNoThrow(try StatisticsFile.read(url), name)
        }
        // float32 rounding of a singular covariance stays within the float32 tolerance.
        let url = dir.appendingPathComponent("f32.npz")
        try writeStatistics(covariance(rows: 2), to: url, float32: true)
        XCTAssertNoThrow(try StatisticsFile.read(url))
        // The fixtures of the FID tests pass, of course.
        XCTAssertNoThrow(try StatisticsFile.read(metricsFixture("stats_singular_a.npz")))
    }

    func testAsymmetricSigmaIsRefusedNamingTheWorstEntry() throws {
        let dir = try temporaryDirectory(self)
        var sigma = covariance(rows: 50)
        sigma[1 * 4 + 3] += 1e-3      // sigma[1, 3] ≠ sigma[3, 1]
        sigma[0 * 4 + 2] += 1e-5
        let url = dir.appendingPathComponent("asym.npz")
        try writeStatistics(sigma, to: url)
        assertThrows(try StatisticsFile.read(url), ["asym.npz", "sigma[1, 3]", "symmetric covariance", "sigma[3, 1]"])
    }

    func testIndefiniteSigmaIsRefusedNamingTheSmallestEigenvalue() throws {
        let dir = try temporaryDirectory(self)
        // Symmetric, eigenvalues 3 and −1 in the first 2×2 block (and 1, 1).
        let sigma: [Double] = [1, 2, 0, 0,
                               2, 1, 0, 0,
                               0, 0, 1, 0,
                               0, 0, 0, 1]
        let url = dir.appendingPathComponent("indefinite.npz")
        try writeStatistics(sigma, to: url)
        assertThrows(try StatisticsFile.read(url), ["indefinite.npz", "sigma", "positive semi-definite", "smallest eigenvalue -1.0", "largest 3.0"])
        // Just below zero by more than float64 rounding (−1e-8, ~1e-7 of the largest variance) is
        // refused too …
        var slightly = covariance(rows: 3)
        for i in 0..<4 { slightly[i * 4 + i] -= 1e-8 }
        try writeStatistics(slightly, to: url)
        assertThrows(try StatisticsFile.read(url), ["positive semi-definite", "smallest eigenvalue -"])
        // … while the same matrix stored as float32 is within float32 rounding (4·d·ε = 1.9e-6 of it).
        try writeStatistics(slightly, to: url, float32: true)
        XCTAssertNoThrow(try StatisticsFile.read(url))
    }

    func testStatisticsCountBelowTwoIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("count1.npz")
        try writeNpz([("mu", NpyArray(doubles: [0, 0], shape: [2])), ("sigma", NpyArray(doubles: [1, 0, 0, 1], shape: [2, 2])),
                      ("count", NpyArray(int64: [1], shape: []))], to: url)
        assertThrows(try StatisticsFile.read(url), ["count1.npz", "count", "at least 2 images", "found 1"])
    }

    /// NaN/Inf in a features file: refused naming the file, the array, the row and the column —
    /// not written as NaN statistics, not reported as "first statistics: mu[3]".
    func testNonFiniteFeaturesAreRefusedNamingFileArrayAndRow() throws {
        let dir = try temporaryDirectory(self)
        var pool = [Float](repeating: 0.5, count: 3 * 2048)
        pool[2 * 2048 + 17] = .nan
        let url = dir.appendingPathComponent("nan.npz")
        try writeNpz([("pool", NpyArray(floats: pool, shape: [3, 2048]))], to: url)
        assertThrows(try EvalInput(url).statistics(ExtractorProvider(progress: false)), ["nan.npz", "pool row 2, column 17", "finite", "nan"])
        var spatial = [Float](repeating: 0.5, count: 3 * 2023)
        spatial[5] = -.infinity
        pool[2 * 2048 + 17] = 1
        try writeNpz([("pool", NpyArray(floats: pool, shape: [3, 2048])), ("spatial", NpyArray(floats: spatial, shape: [3, 2023]))], to: url)
        assertThrows(try EvalInput(url).features(ExtractorProvider(progress: false)), ["nan.npz", "spatial row 0, column 5", "-inf"])
        // float16 features are converted, then checked the same way.
        var bytes = [UInt8](repeating: 0, count: 2 * 2048 * 2)
        for i in 0..<(2 * 2048) { bytes[2 * i + 1] = 0x38 }      // 0.5 in IEEE half
        bytes[2 * 2048 * 2 - 1] = 0x7E                          // the last value: a NaN
        try writeNpz([("pool", try NpyArray(dtype: .float16, shape: [2, 2048], bytes: bytes))], to: url)
        assertThrows(try EvalInput(url).statistics(ExtractorProvider(progress: false)), ["nan.npz", "pool row 1, column 2047"])
    }

    /// One image: the error names the input, before any feature is computed.
    func testOneImageIsRefusedNamingTheInput() throws {
        let dir = try temporaryDirectory(self)
        let features = dir.appendingPathComponent("one.npz")
        try writeNpz([("pool", NpyArray(floats: [Float](repeating: 1, count: 2048), shape: [1, 2048]))], to: features)
        assertThrows(try EvalInput(features).checkStatisticsPossible(), ["one.npz", "pool", "at least 2 images", "1 image"])
        assertThrows(try EvalInput(features).statistics(ExtractorProvider(progress: false)), ["one.npz", "at least 2 images"])
        let images = dir.appendingPathComponent("one_image.npz")
        try writeNpz([("arr_0", NpyArray(uint8: [UInt8](repeating: 9, count: 8 * 8 * 3), shape: [1, 8, 8, 3]))], to: images)
        // No weights are needed to say so: the check runs before the network is loaded.
        let provider = ExtractorProvider(weights: dir.appendingPathComponent("no-weights.pt"), progress: false)
        assertThrows(try EvalInput(images).statistics(provider), ["one_image.npz", "images", "at least 2 images", "1 image"])
    }
}
