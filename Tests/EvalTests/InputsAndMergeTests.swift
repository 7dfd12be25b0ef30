import Eval
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// Loading features/statistics files, merging shards exactly, the whole suite end to end, and
/// the refusals the issue asks for.
final class InputsAndMergeTests: XCTestCase {
    let s = FixtureFeatures.samples, r = FixtureFeatures.reference

    func testFeaturesFileGivesTheSameStatisticsAndFID() throws {
        let dir = try temporaryDirectory(self)
        let a = dir.appendingPathComponent("samples.npz"), b = dir.appendingPathComponent("ref.npz")
        try s.write(to: a); try r.write(to: b)
        let provider = ExtractorProvider(progress: false)
        let sa = try EvalInput(a).statistics(provider), sb = try EvalInput(b).statistics(provider)
        XCTAssertNil(provider.loaded, "features inputs must not load the network")
        assertRelative(try frechetDistance(sa.pool, sb.pool), goldenValue("fid.exact_nuclear"), 1e-9, "FID from features files")
        XCTAssertEqual(sa.spatial?.dimension, 2023)
        // stats → file → stats round trip
        let statsURL = dir.appendingPathComponent("stats.npz")
        try sa.write(to: statsURL)
        let back = try EvalInput(statsURL).statistics(provider)
        XCTAssertEqual(back.pool.count, 400)
        XCTAssertEqual(back.pool.mean, sa.pool.mean)
        XCTAssertEqual(back.pool.covariance, sa.pool.covariance)
        XCTAssertEqual(back.spatial!.covariance, sa.spatial!.covariance)
    }

    func testMergingFeatureShardsAndStatistics() throws {
        let dir = try temporaryDirectory(self)
        let parts = [250..<400, 0..<100, 100..<250].enumerated().map { i, rows -> URL in
            let url = dir.appendingPathComponent("shard\(i).npz")
            try! s.write(to: url, rows: rows, index: true)
            return url
        }
        let merged = dir.appendingPathComponent("merged.npz")
        let summary = try ShardMerge.merge(parts, to: merged)
        XCTAssertEqual(summary.output, .features)
        XCTAssertEqual(summary.count, 400)
        let npz = try NpzFile(contentsOf: merged)
        XCTAssertEqual(try npz.array("pool").asFloats(), Array(s.pool.buffer), "rows back in index order")
        XCTAssertEqual(try npz.array("index").asInt64(), (0..<400).map { Int64($0) })
        XCTAssertEqual(try npz.array("spatial").asFloats(), Array(s.spatial.buffer), "spatial rows too (spooled)")

        // Interleaved parts (rows 0,2,4,… and 1,3,5,…) cannot be copied block by block: they are
        // reordered in memory, with the same result.
        let even = Array(stride(from: 0, to: 400, by: 2)), odd = Array(stride(from: 1, to: 400, by: 2))
        let interleaved = [even, odd].enumerated().map { i, rows -> URL in
            let url = dir.appendingPathComponent("interleaved\(i).npz")
            func pick(_ t: Tensor) -> NpyArray {
                let d = t.shape[1]
                return NpyArray(floats: rows.flatMap { Array(t.buffer[($0 * d)..<($0 * d + d)]) }, shape: [rows.count, d])
            }
            try! writeNpz([("pool", pick(s.pool)), ("spatial", pick(s.spatial)),
                           ("index", NpyArray(int64: rows.map { Int64($0) }, shape: [rows.count]))], to: url)
            return url
        }
        let merged2 = dir.appendingPathComponent("merged2.npz")
        XCTAssertEqual(try ShardMerge.merge(interleaved, to: merged2).count, 400)
        let npz2 = try NpzFile(contentsOf: merged2)
        XCTAssertEqual(try npz2.array("pool").asFloats(), Array(s.pool.buffer))
        XCTAssertEqual(try npz2.array("spatial").asFloats(), Array(s.spatial.buffer))

        // Statistics of each shard, merged from float64 sums: FID equals one pass.
        let provider = ExtractorProvider(progress: false)
        let statParts = try parts.enumerated().map { i, url -> URL in
            let out = dir.appendingPathComponent("stats\(i).npz")
            try EvalInput(url).statistics(provider).write(to: out)
            return out
        }
        let mergedStats = dir.appendingPathComponent("merged_stats.npz")
        XCTAssertEqual(try ShardMerge.merge(statParts, to: mergedStats).output, .statistics)
        let one = try moments(s.pool).gaussian(), fromShards = try StatisticsFile.read(mergedStats).pool
        XCTAssertEqual(fromShards.count, 400)
        XCTAssertLessThan(zip(one.covariance, fromShards.covariance).map { abs($0 - $1) }.max()!, 1e-14,
                          "covariance merged from shard statistics vs one pass")
        XCTAssertLessThan(zip(one.mean, fromShards.mean).map { abs($0 - $1) }.max()!, 1e-15)

        // Overlapping shards are refused.
        assertThrows(try ShardMerge.merge([parts[0], parts[0]], to: dir.appendingPathComponent("x.npz")), ["more than one part"])
    }

    /// Shards of a labelled ADM batch keep their labels (`arr_1`) through the merge, in index
    /// order, on both of its paths (blocks copied in part order, rows gathered in memory); a mix
    /// of labelled and unlabelled parts is refused rather than merged without labels.
    func testMergingKeepsLabels() throws {
        let dir = try temporaryDirectory(self)
        func part(_ name: String, rows: [Int], labelled: Bool = true) throws -> URL {
            let url = dir.appendingPathComponent(name)
            func pick(_ t: Tensor) -> NpyArray {
                let d = t.shape[1]
                return NpyArray(floats: rows.flatMap { Array(t.buffer[($0 * d)..<($0 * d + d)]) }, shape: [rows.count, d])
            }
            var arrays = [("pool", pick(s.pool)), ("spatial", pick(s.spatial)),
                          ("index", NpyArray(int64: rows.map { Int64($0) }, shape: [rows.count]))]
            if labelled { arrays.append(("arr_1", NpyArray(int64: rows.map { Int64($0 % 7) }, shape: [rows.count]))) }
            try writeNpz(arrays, to: url)
            return url
        }
        let want = (0..<400).map { Int64($0 % 7) }
        let blocks = [try part("late.npz", rows: Array(200..<400)), try part("early.npz", rows: Array(0..<200))]
        let merged = dir.appendingPathComponent("merged.npz")
        _ = try ShardMerge.merge(blocks, to: merged)
        XCTAssertEqual(try NpzFile(contentsOf: merged).array("arr_1").asInt64(), want, "labels of parts copied block by block")
        let interleaved = [try part("even.npz", rows: Array(stride(from: 0, to: 400, by: 2))),
                           try part("odd.npz", rows: Array(stride(from: 1, to: 400, by: 2)))]
        let merged2 = dir.appendingPathComponent("merged2.npz")
        _ = try ShardMerge.merge(interleaved, to: merged2)
        XCTAssertEqual(try NpzFile(contentsOf: merged2).array("arr_1").asInt64(), want, "labels of parts reordered in memory")

        let unlabelled = try part("unlabelled.npz", rows: Array(0..<200), labelled: false)
        assertThrows(try ShardMerge.merge([blocks[0], unlabelled], to: dir.appendingPathComponent("m.npz")),
                     ["unlabelled.npz", "arr_1", "late.npz"])
        assertThrows(try ShardMerge.merge([unlabelled, blocks[0]], to: dir.appendingPathComponent("m2.npz")),
                     ["unlabelled.npz", "arr_1", "late.npz"])
        // Labels are checked as `eval` checks them: integers, one axis, named with the file.
        let floatLabels = dir.appendingPathComponent("float-labels.npz")
        try writeNpz([("pool", NpyArray(floats: Array(s.pool.buffer[0..<(2 * 2048)]), shape: [2, 2048])),
                      ("arr_1", NpyArray(floats: [0, 1], shape: [2]))], to: floatLabels)
        assertThrows(try ShardMerge.merge([floatLabels, blocks[0]], to: dir.appendingPathComponent("m3.npz")),
                     ["float-labels.npz", "arr_1", "integer dtype"])
    }

    func testRefusals() throws {
        let dir = try temporaryDirectory(self)
        // A features file from another layer (768-wide "pool").
        let other = dir.appendingPathComponent("mixed6.npz")
        try writeNpz([("pool", NpyArray(floats: [Float](repeating: 1, count: 10 * 768), shape: [10, 768]))], to: other)
        assertThrows(try EvalInput(other), ["mixed6.npz", "pool", "2048", "different layer"])
        // Zero images.
        let empty = dir.appendingPathComponent("empty.npz")
        try writeNpz([("pool", NpyArray(floats: [], shape: [0, 2048]))], to: empty)
        assertThrows(try EvalInput(empty), ["empty.npz", "at least one image"])
        // Statistics of different dimensions cannot merge.
        let a = dir.appendingPathComponent("a.npz"), b = dir.appendingPathComponent("b.npz")
        try StatisticsFile(pool: moments(s.pool), spatial: nil).write(to: a)
        try StatisticsFile(pool: moments(s.spatial), spatial: nil).write(to: b)
        assertThrows(try ShardMerge.merge([a, b], to: dir.appendingPathComponent("m.npz")), ["b.npz", "2048", "2023"])
        // Statistics without a count cannot be weighted.
        assertThrows(try ShardMerge.merge([metricsFixture("stats_full_a.npz"), metricsFixture("stats_full_b.npz")],
                                          to: dir.appendingPathComponent("m2.npz")), ["count"])
        // Fewer than k+1 images for precision/recall.
        let three = Tensor(shape: [3, 2048], repeating: 0.5)
        assertThrows(try ManifoldEstimator(k: 3, densityK: nil).evaluate(reference: three, samples: s.pool), ["3 images", "at least 4"])
    }

    /// eval's library path on the fixtures: every number against golden.json, IS null with a reason.
    func testMetricSuiteEndToEnd() throws {
        let provider = ExtractorProvider(progress: false)
        func side(_ f: FixtureFeatures, _ name: String) throws -> MetricSuite.Side {
            MetricSuite.Side(statistics: try StatisticsFile(pool: moments(f.pool), spatial: moments(f.spatial)),
                             features: f.pool, description: name)
        }
        _ = provider
        var settings = MetricSuite.Settings()
        (settings.kidSubsets, settings.kidSubsetSize, settings.kidSeed) = (10, 50, 7)
        let report = try MetricSuite.evaluate(samples: side(s, "samples"), reference: side(r, "ref"), fcWeight: nil,
                                              fcNote: "no 1008-class head", settings: settings)
        assertRelative(report.fid, goldenValue("fid.exact_nuclear"), 1e-9, "fid")
        assertRelative(report.sfid!, goldenValue("sfid.exact_nuclear"), 1e-9, "sfid")
        XCTAssertEqual(report.precision, goldenValue("pr_k3_fp32.precision"))
        XCTAssertEqual(report.recall, goldenValue("pr_k3_fp32.recall"))
        XCTAssertEqual(report.density!, goldenValue("prdc_k5.density"), accuracy: 1e-12)
        XCTAssertEqual(report.coverage!, goldenValue("prdc_k5.coverage"), accuracy: 1e-12)
        assertRelative(report.kid!, goldenValue("kid_10x50_seed7"), 1e-6, "kid")
        assertRelative(report.kidStd!, goldenValue("kid_10x50_seed7_std"), 1e-6, "kid_std")
        let json = try jsonObject(report)
        XCTAssert(json["is"] is NSNull, "is must be null without the head")
        XCTAssertEqual(json["is_note"] as? String, "no 1008-class head")
        for key in ["fid", "sfid", "is_std", "precision", "recall", "density", "coverage", "kid", "kid_std", "samples_count", "reference_count", "settings"] {
            XCTAssertNotNil(json[key], "JSON has \(key)")
        }
    }
}
