import Eval
import Foundation
import TensorCore
import TensorIO
import XCTest

/// FID∞, IS∞ and FID's bootstrap interval (Sources/Eval/Metrics/UnbiasedScores.swift) against the
/// authors' code (github.com/mchong6/FID_IS_infinity) run on the same features:
/// fixtures/fidinf/golden.json, made by scripts/fixtures/fidinf_golden.py (fixtures/fidinf/COMMANDS.md).
final class UnbiasedScoreTests: XCTestCase {
    static let golden: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/fidinf/golden.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()
    func numbers(_ key: String) -> [Double] { (Self.golden[key] as! [NSNumber]).map(\.doubleValue) }
    func number(_ key: String) -> Double { (Self.golden[key] as! NSNumber).doubleValue }

    var referenceStatistics: GaussianStatistics {
        try! moments(FixtureFeatures.reference.pool).gaussian()
    }

    /// Subset sizes are numpy's linspace(...).astype(int32), truncation included.
    func testSubsetSizesAreNumpyLinspace() {
        XCTAssertEqual(UnbiasedScores.subsetSizes(minimum: 5000, total: 50000, points: 15), numbers("linspace_5000_50000_15").map { Int($0) })
        XCTAssertEqual(UnbiasedScores.subsetSizes(minimum: 51, total: 256, points: 15), numbers("linspace_51_256_15").map { Int($0) })
        XCTAssertEqual(UnbiasedScores.subsetSizes(minimum: 80, total: 400, points: 15), numbers("sizes").map { Int($0) })
    }

    /// The authors' calculate_FID_infinity_path on the 400 fixture samples against the 320-image
    /// reference (min_fake 80, 15 points, np.random.seed(0)): the same subsets (numpy's shuffle
    /// reproduced), each subset's FID within 1e-9 of the exact value on those subsets and within
    /// 1e-5 of their scipy sqrtm value (sqrtm's own error on singular covariances is ~1e-6), so FID∞
    /// within 1e-9 of the exact fit and 1e-5 of theirs.
    func testFIDInfinityMatchesTheAuthorsCode() throws {
        let fit = try UnbiasedScores.fidInfinity(samples: FixtureFeatures.samples.pool, reference: referenceStatistics,
                                                 minimumSize: 80, points: 15, seed: 0)
        XCTAssertEqual(fit.sizes, numbers("sizes").map { Int($0) })
        for (i, (ours, exact)) in zip(fit.scores, numbers("fid_points_exact")).enumerated() {
            assertRelative(ours, exact, 1e-9, "FID of subset \(i) (\(fit.sizes[i]) samples) vs the exact value")
            assertRelative(ours, numbers("fid_points_scipy")[i], 1e-5, "FID of subset \(i) vs the authors' scipy value")
        }
        assertRelative(fit.value, number("fid_infinity_exact"), 1e-9, "FID∞ vs the exact fit")
        assertRelative(fit.value, number("fid_infinity"), 1e-5, "FID∞ vs calculate_FID_infinity_path")
        XCTAssertLessThan(fit.value, fit.scores.last!, "FID∞ lies below the biased FID of all samples")
    }

    /// calculate_IS_infinity_path with the same head dimr-eval uses for IS (fc_small, no bias).
    func testISInfinityMatchesTheAuthorsCode() throws {
        let npz = try NpzFile(contentsOf: metricsFixture("fc_small.npz"))
        let codes = try npz.array("fc_codes")
        let head = Tensor(shape: codes.shape, values: try codes.asFloats().map { $0 / 64 })
        let fit = try UnbiasedScores.inceptionScoreInfinity(samples: FixtureFeatures.samples.pool, classifier: head,
                                                            minimumSize: 80, points: 15, seed: 0)
        for (i, (ours, theirs)) in zip(fit.scores, numbers("is_points")).enumerated() {
            assertRelative(ours, theirs, 1e-12, "IS of subset \(i)")
        }
        assertRelative(fit.value, number("is_infinity"), 1e-10, "IS∞ vs calculate_IS_infinity_path")
    }

    /// The subset route (one n×d×d product and an eigen-solve of size min(n, d)) equals FID from
    /// the subset's own statistics through `frechetDistance`, on both sides of n = d, repeated
    /// rows included (as in bootstrap resamples).
    func testSubsetFIDEqualsTheStatisticsRoute() throws {
        var rng = SplitMix64(seed: 5)
        let d = 48, n = 1500   // 1500 rows: more than one 1024-row block
        let samples = Tensor(shape: [n, d], values: (0..<(n * d)).map { i in Float(rng.below(1000)) / 100 + Float(i % d) / 10 })
        let reference = try moments(Tensor(shape: [200, d], values: (0..<(200 * d)).map { _ in Float(rng.below(1000)) / 90 })).gaussian()
        for size in [20, 47, 48, 49, 1500] {
            var rows = (0..<size).map { _ in rng.below(n) }
            if size == n { rows = Array(0..<n) }
            let subset = Tensor(shape: [size, d], values: rows.flatMap { r in (0..<d).map { samples.data[r * d + $0] } })
            let direct = try frechetDistance(moments(subset).gaussian(), reference)
            let fit = try UnbiasedScores.fidInfinity(samples: subset, reference: reference, minimumSize: size - 1, points: 2, seed: 0)
            assertRelative(fit.scores.last!, direct, 1e-10, "FID of \(size) rows (d = \(d))")
        }
    }

    /// The interval brackets the resampled FIDs' spread, is reproducible for a seed and moves with it.
    func testBootstrapInterval() throws {
        let samples = FixtureFeatures.samples.pool
        let a = try UnbiasedScores.fidBootstrap(samples: samples, reference: referenceStatistics, resamples: 12, seed: 3)
        let b = try UnbiasedScores.fidBootstrap(samples: samples, reference: referenceStatistics, resamples: 12, seed: 3)
        let c = try UnbiasedScores.fidBootstrap(samples: samples, reference: referenceStatistics, resamples: 12, seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.low, c.low)
        XCTAssertLessThan(a.low, a.high)
        XCTAssertEqual(a.resamples, 12)
        XCTAssertEqual(a.confidence, 0.95)
        assertThrows(try UnbiasedScores.fidBootstrap(samples: samples, reference: referenceStatistics, resamples: 1), ["at least 2 resamples"])
        assertThrows(try UnbiasedScores.fidInfinity(samples: samples, reference: referenceStatistics, minimumSize: 400), ["fewer than all 400"])
    }
}
