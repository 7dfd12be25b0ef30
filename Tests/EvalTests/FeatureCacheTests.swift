import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// The feature cache (Sources/Eval/Inputs/FeatureCache.swift): a hit gives bit-identical features
/// and statistics to computing them; a change of content, resize mode, weights or preprocessing
/// version misses; a damaged entry is ignored and replaced; the least recently used entries go
/// first when the folder is full. Each batch is 2 images of 16×16 (a few Inception passes).
final class FeatureCacheTests: XCTestCase {
    func batch(_ url: URL, seed: UInt64, count: Int = 2, compressed: Bool = false) throws {
        var rng = SplitMix64(seed: seed)
        let pixels = (0..<(count * 16 * 16 * 3)).map { _ in UInt8(rng.below(256)) }
        try writeNpz([("arr_0", NpyArray(uint8: pixels, shape: [count, 16, 16, 3]))], to: url, compressed: compressed)
    }

    func provider(_ root: URL, resize: ResizeMode = .adm, maxBytes: Int64? = nil) throws -> ExtractorProvider {
        ExtractorProvider(resize: resize, progress: false, cache: try FeatureCache(root: root, maxBytes: maxBytes ?? 1 << 30))
    }

    func read(_ url: URL, _ provider: ExtractorProvider) throws -> (LoadedFeatures, FeatureCacheUse?) {
        let input = try EvalInput(url)
        let features = try input.features(provider)
        return (features, input.cacheUse)
    }

    func testHitGivesTheComputedFeaturesExactly() throws {
        let dir = try temporaryDirectory(self), root = dir.appendingPathComponent("cache")
        let a = dir.appendingPathComponent("a.npz")
        try batch(a, seed: 1)
        let computed = try EvalInput(a).features(ExtractorProvider(progress: false))
        let cached = try provider(root)
        let (first, firstUse) = try read(a, cached)
        XCTAssertEqual(firstUse?.status, .stored)
        let (second, secondUse) = try read(a, cached)
        XCTAssertEqual(secondUse?.status, .hit)
        XCTAssertEqual(secondUse?.entry, firstUse?.entry)
        for loaded in [first, second] {
            XCTAssertEqual(loaded.pool.array, computed.pool.array, "pool3 features bit-identical")
            XCTAssertEqual(loaded.poolMoments, computed.poolMoments, "float64 sums bit-identical")
            XCTAssertEqual(loaded.spatialMoments, computed.spatialMoments)
        }
        // The entry is a features file any command reads, recording the key and the preprocessing.
        let entry = try NpzFile(contentsOf: URL(fileURLWithPath: secondUse!.entry!))
        XCTAssertEqual(try FeaturesFile.check(entry), 2)
        let meta = try XCTUnwrap(try FeaturesFile.meta(entry))
        XCTAssertEqual(meta["resize"] as? String, "adm")
        XCTAssertEqual(meta["weightsSHA1"] as? String, try cached.weightsSHA1())
        XCTAssertEqual(meta["source"] as? String, a.standardizedFileURL.path)
        // Statistics (fid, stats) come from the same entry.
        let input = try EvalInput(a)
        let statistics = try input.statistics(cached)
        XCTAssertEqual(input.cacheUse?.status, .hit)
        XCTAssertEqual(statistics.preprocessing?.resize, "adm")
        XCTAssertEqual(statistics.pool.mean, try computed.poolMoments.gaussian().mean)
    }

    /// Streamed in batches of 16 or read back in chunks of 1024, the float64 sums are the same to
    /// the bit: the rank-k updates always cover the same rows.
    func testMomentsDoNotDependOnHowRowsArrive() {
        var rng = SplitMix64(seed: 9)
        let d = 24, n = 1500
        let x = (0..<(n * d)).map { _ in Float(rng.below(10_000)) / 997 }
        func accumulate(_ chunk: Int) -> FeatureMoments {
            let acc = MomentAccumulator(dimension: d)
            x.withUnsafeBufferPointer { p in
                var start = 0
                while start < n { let rows = min(chunk, n - start); acc.add(p.baseAddress! + start * d, rows: rows); start += rows }
            }
            return acc.finish()
        }
        XCTAssertEqual(accumulate(16), accumulate(1024))
        XCTAssertEqual(accumulate(7), accumulate(1500))
    }

    func testKeyCoversContentResizeWeightsAndVersion() throws {
        let dir = try temporaryDirectory(self), root = dir.appendingPathComponent("cache")
        let a = dir.appendingPathComponent("a.npz"), changed = dir.appendingPathComponent("changed.npz")
        let resaved = dir.appendingPathComponent("resaved.npz")
        try batch(a, seed: 1)
        try batch(resaved, seed: 1, compressed: true)
        try batch(changed, seed: 1)
        var npz = try NpzFile(contentsOf: changed).array("arr_0").asUInt8()
        npz[100] ^= 1   // one pixel one step brighter
        try writeNpz([("arr_0", NpyArray(uint8: npz, shape: [2, 16, 16, 3]))], to: changed)

        XCTAssertEqual(try FeatureCache.contentSHA1(of: a), try FeatureCache.contentSHA1(of: resaved),
                       "the key is the images' bytes, not the zip around them")
        XCTAssertNotEqual(try FeatureCache.contentSHA1(of: a), try FeatureCache.contentSHA1(of: changed))

        let cached = try provider(root)
        let (_, first) = try read(a, cached)
        XCTAssertEqual(first?.status, .stored)
        XCTAssertEqual(try read(resaved, cached).1?.status, .hit)
        let (_, other) = try read(changed, cached)
        XCTAssertEqual(other?.status, .stored, "changed content misses")
        XCTAssertNotEqual(other?.entry, first?.entry)
        let (_, clean) = try read(a, try provider(root, resize: .clean))
        XCTAssertEqual(clean?.status, .stored, "another resize mode misses")
        XCTAssertEqual(try read(a, try provider(root, resize: .clean)).1?.status, .hit)

        let key = FeatureCache.Key(contentSHA1: "c", weightsSHA1: "w", resize: .adm, batchSize: 16, preprocessingVersion: 1)
        var otherWeights = key; otherWeights.weightsSHA1 = "w2"
        var otherVersion = key; otherVersion.preprocessingVersion = 2
        var otherResize = key; otherResize.resize = .pytorch
        var otherBatch = key; otherBatch.batchSize = 8
        XCTAssertEqual(Set([key.name, otherWeights.name, otherVersion.name, otherResize.name, otherBatch.name]).count, 5)
        XCTAssertEqual(key.name, FeatureCache.Key(contentSHA1: "c", weightsSHA1: "w", resize: .adm, batchSize: 16, preprocessingVersion: 1).name)

        // Without a cache nothing is looked up or stored.
        let input = try EvalInput(a)
        input.usesCache = false
        _ = try input.features(cached)
        XCTAssertEqual(input.cacheUse?.status, .off)
    }

    /// A flipped byte in the stored features (caught by the zip CRC while streaming) and a
    /// truncated entry are both ignored: the features are computed again, equal to the first
    /// ones, and the entry is replaced by a good one.
    func testDamagedEntryIsIgnoredAndReplaced() throws {
        let dir = try temporaryDirectory(self), root = dir.appendingPathComponent("cache")
        let a = dir.appendingPathComponent("a.npz")
        try batch(a, seed: 2)
        let cached = try provider(root)
        let (good, use) = try read(a, cached)
        let entry = URL(fileURLWithPath: try XCTUnwrap(use?.entry))

        var bytes = try Data(contentsOf: entry)
        bytes[bytes.count / 3] ^= 0x40   // inside pool's float rows
        try bytes.write(to: entry)
        let (again, afterFlip) = try read(a, cached)
        XCTAssertEqual(afterFlip?.status, .stored, "the damaged entry is not served")
        XCTAssertEqual(again.pool.array, good.pool.array)
        XCTAssertEqual(again.poolMoments, good.poolMoments)
        XCTAssertEqual(try read(a, cached).1?.status, .hit, "and was replaced by a good one")

        try Data(bytes.prefix(100)).write(to: entry)
        XCTAssertEqual(try read(a, cached).1?.status, .stored)
        XCTAssertEqual(try read(a, cached).1?.status, .hit)
    }

    func testLeastRecentlyUsedEntriesAreEvicted() throws {
        let dir = try temporaryDirectory(self), root = dir.appendingPathComponent("cache")
        let urls = (0..<3).map { dir.appendingPathComponent("b\($0).npz") }
        for (i, url) in urls.enumerated() { try batch(url, seed: 10 + UInt64(i)) }
        // Room for two entries of 2 images (plus zip headers and meta), not three.
        let cached = try provider(root, maxBytes: 2 * FeatureCache.entryBytes(count: 2) + 16_384)
        let entries = try urls.prefix(2).map { URL(fileURLWithPath: try XCTUnwrap(try read($0, cached).1?.entry)) }
        func age(_ url: URL, _ seconds: Double) throws {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: url.path)
        }
        try age(entries[0], 200)
        try age(entries[1], 100)
        XCTAssertEqual(try read(urls[0], cached).1?.status, .hit)   // a read makes b0 the most recent
        _ = try read(urls[2], cached)
        XCTAssertTrue(FileManager.default.fileExists(atPath: entries[0].path), "recently read: kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: entries[1].path), "least recently used: evicted")
        let listed = try FeatureCache(root: root).entries()
        XCTAssertEqual(listed.count, 2)
        XCTAssertEqual(listed.first?.source, urls[2].standardizedFileURL.path, "most recent first")
        XCTAssertEqual(listed.first?.images, 2)
        XCTAssertEqual(try FeatureCache(root: root).clear().files, 2)
        XCTAssertTrue(try FeatureCache(root: root).entries().isEmpty)

        // An input too large for the cache at all is computed and not stored.
        let tiny = try provider(root, maxBytes: 1000)
        XCTAssertEqual(try read(urls[0], tiny).1?.status, .tooLarge)
    }
}
