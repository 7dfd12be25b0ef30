import Eval
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// FID / sFID against scipy's sqrtm route (the ADM evaluator's formula in the anchors kit) and
/// pytorch-fid's `calculate_frechet_distance`, on golden values in fixtures/metrics/golden.json.
final class FrechetDistanceTests: XCTestCase {
    /// 2048-d pool3 and 2023-d spatial features of 400 vs 320 images: both covariances singular.
    func testFIDAndSFIDOfSingularCovariancesMatchScipy() throws {
        let s = FixtureFeatures.samples, r = FixtureFeatures.reference
        let fid = try frechetDistance(try moments(s.pool).gaussian(), try moments(r.pool).gaussian())
        let sfid = try frechetDistance(try moments(s.spatial).gaussian(), try moments(r.spatial).gaussian())
        XCTAssert(fid.isFinite && sfid.isFinite)
        // Exact value (nuclear norm of the centred features, scripts/fixtures/metrics_exact_fid.py): 1e-9.
        assertRelative(fid, goldenValue("fid.exact_nuclear"), 1e-9, "FID vs exact")
        assertRelative(sfid, goldenValue("sfid.exact_nuclear"), 1e-9, "sFID vs exact")
        // scipy's sqrtm (ADM, pytorch-fid) is itself off by ~4e-6 on these singular covariances,
        // so the tools are compared at 1e-5 relative here; full-rank stats files below use 1e-6.
        assertRelative(fid, goldenValue("fid.scipy_adm"), 1e-5, "FID vs ADM/scipy")
        assertRelative(fid, goldenValue("fid.pytorch_fid"), 1e-5, "FID vs pytorch-fid")
        assertRelative(sfid, goldenValue("sfid.scipy_adm"), 1e-5, "sFID vs ADM/scipy")
    }

    /// Mean and covariance accumulated in float64 in chunks equal numpy's mean / np.cov.
    func testStreamedStatisticsMatchNumpy() throws {
        let g = try moments(FixtureFeatures.samples.pool, chunk: 33).gaussian()
        let mu = golden["mu_samples_first"] as! [Double], row = golden["sigma_samples_row0_first"] as! [Double]
        for i in 0..<5 {
            // The anchors kit's np.mean of float32 features is float32: compare at float32 rounding.
            assertRelative(g.mean[i], mu[i], 1e-7, "mu[\(i)]")
            assertRelative(g.covariance[i], row[i], 1e-10, "sigma[0,\(i)]")
        }
        let trace = (0..<2048).reduce(0.0) { $0 + g.covariance[$1 * 2048 + $1] }
        assertRelative(trace, goldenValue("trace_sigma_samples"), 1e-12, "tr sigma")
    }

    /// Stats files (ADM keys, float64, d = 192): full-rank and singular (60 images) covariances.
    func testStatsFilesMatchScipyAndPytorchFID() throws {
        for kind in ["full", "singular"] {
            let a = try StatisticsFile.read(metricsFixture("stats_\(kind)_a.npz"))
            let b = try StatisticsFile.read(metricsFixture("stats_\(kind)_b.npz"))
            let fid = try frechetDistance(a.pool, b.pool)
            assertRelative(fid, goldenValue("stats_\(kind).scipy_adm"), 1e-6, "FID \(kind) vs scipy")
            assertRelative(fid, goldenValue("stats_\(kind).pytorch_fid"), 1e-6, "FID \(kind) vs pytorch-fid")
            // Zero eigenvalues of a singular Σ contribute √(rounding noise) ≈ 1e-8 each.
            XCTAssertEqual(try frechetDistance(a.pool, a.pool), 0, accuracy: 1e-4, "FID of a set with itself")
        }
    }

    /// Shards merged from float64 sums give the FID of one pass (to float64 rounding).
    func testMergedShardsEqualOnePass() throws {
        let s = FixtureFeatures.samples, r = FixtureFeatures.reference
        let whole = try frechetDistance(try moments(s.pool).gaussian(), try moments(r.pool).gaussian())
        var merged = moments(s.pool, rows: 0..<123)
        for part in [123..<250, 250..<251, 251..<400] { merged = try merged.merged(with: moments(s.pool, rows: part)) }
        let one = try moments(s.pool).gaussian(), parts = try merged.gaussian()
        XCTAssertEqual(merged.count, 400)
        let meanError = zip(one.mean, parts.mean).map { abs($0 - $1) }.max()!
        let covError = zip(one.covariance, parts.covariance).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(meanError, 1e-15, "merged mean vs one pass")
        XCTAssertLessThan(covError, 1e-14, "merged covariance vs one pass")
        let fid = try frechetDistance(parts, try moments(r.pool).gaussian())
        assertRelative(fid, whole, 1e-10, "FID of merged shards vs one pass")

        // Through stats files: write each shard's statistics (with count), read, merge.
        let dir = try temporaryDirectory(self)
        var total: FeatureMoments?
        for (i, part) in [0..<200, 200..<400].enumerated() {
            let url = dir.appendingPathComponent("part\(i).npz")
            try StatisticsFile(pool: moments(s.pool, rows: part), spatial: moments(s.spatial, rows: part)).write(to: url)
            let m = try StatisticsFile.read(url).moments(url).pool
            total = try total.map { try $0.merged(with: m) } ?? m
        }
        let viaFiles = try total!.gaussian()
        XCTAssertLessThan(zip(one.covariance, viaFiles.covariance).map { abs($0 - $1) }.max()!, 1e-14,
                          "covariance merged from stats files vs one pass")
    }

    func testRefusesMismatchedAndNonFiniteStatistics() throws {
        let a = try StatisticsFile.read(metricsFixture("stats_full_a.npz")).pool
        let small = GaussianStatistics(mean: [0, 0], covariance: [1, 0, 0, 1])
        assertThrows(try frechetDistance(a, small), ["dimension", "192", "2"])
        var bad = a
        bad.covariance[5] = .nan
        assertThrows(try frechetDistance(bad, a), ["sigma", "nan"])

        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("nan.npz")
        var mu = a.mean
        mu[3] = .nan
        try writeNpz([("mu", NpyArray(doubles: mu, shape: [192])), ("sigma", NpyArray(doubles: a.covariance, shape: [192, 192]))], to: url)
        assertThrows(try StatisticsFile.read(url), ["nan.npz", "mu[3]", "finite"])
        assertThrows(try FeatureMoments(dimension: 4).gaussian(), ["at least 2", "0"])
    }
}
