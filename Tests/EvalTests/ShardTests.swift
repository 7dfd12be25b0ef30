import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// `features --shard i/n` without the binary (Sources/Eval/Inputs/Shard.swift, WriteFeatures.swift):
/// the spec's syntax, shards that cover every image exactly once and are cut between batches,
/// `ShardSource` serving exactly its rows from arrays and folders, and shards written with
/// `FeaturesFile.write` that merge into the single pass's file bit for bit.
final class ShardTests: XCTestCase {
    func testSpecParsesIOfNAndRefusesAnythingElse() throws {
        XCTAssertEqual(try ShardSpec("0/4"), ShardSpec(index: 0, count: 4))
        XCTAssertEqual(try ShardSpec("3/4"), ShardSpec(index: 3, count: 4))
        XCTAssertEqual(try ShardSpec("0/1").description, "0/1")
        for bad in ["4/4", "-1/4", "1/0", "0/-2", "a/b", "1", "1/2/3", "", "/4", "1/"] {
            XCTAssertThrowsError(try ShardSpec(bad), bad) { error in
                XCTAssertEqual((error as? ShardSpec.SyntaxError)?.found, bad)
                XCTAssertTrue("\(error)".contains(ShardSpec.SyntaxError.expected), "\(error)")
            }
        }
    }

    func testShardsCoverEveryImageOnceCutBetweenBatches() {
        for total in 1...40 {
            for batchSize in [1, 2, 3, 7, 16, 64] {
                for count in 1...9 {
                    let parts = (0..<count).map { ShardSpec(index: $0, count: count).rows(of: total, batchSize: batchSize) }
                    XCTAssertEqual(parts.flatMap { Array($0) }, Array(0..<total), "\(total) images, batches of \(batchSize), \(count) shards")
                    for part in parts where !part.isEmpty {
                        XCTAssertEqual(part.lowerBound % batchSize, 0, "a shard starts at a batch boundary")
                        XCTAssertTrue(part.upperBound == total || part.upperBound % batchSize == 0, "and ends at one")
                    }
                    let nonEmpty = parts.filter { !$0.isEmpty }.count
                    XCTAssertEqual(nonEmpty, min(count, (total + batchSize - 1) / batchSize), "as many shards hold batches as there are batches to share")
                }
            }
        }
    }

    /// 10 images whose first pixel is their index; each shard read in batches of 3 gives its rows,
    /// in order, with starts counted from the shard's first row.
    func testShardSourceServesExactlyItsRows() throws {
        let dir = try temporaryDirectory(self)
        let images = (0..<10).map { i -> RGBImage in
            var image = RGBImage(width: 4, height: 4)
            image.pixels[0] = UInt8(i)
            return image
        }
        let batch = dir.appendingPathComponent("batch.npz")
        try writeADMBatch(images, labels: (0..<10).map { $0 % 3 }, to: batch)
        let folder = dir.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (i, image) in images.enumerated() {
            try Data(try encodePNG(image)).write(to: folder.appendingPathComponent(String(format: "%02d.png", i)))
        }
        for base in [try openImageSource(batch), try openImageSource(folder)] {
            for rows in [0..<10, 0..<4, 3..<7, 6..<10, 9..<10] {
                let shard = ShardSource(base, rows: rows)
                XCTAssertEqual(shard.count, rows.count)
                var seen: [Int] = [], starts: [Int] = []
                try shard.forEachBatch(size: 3) { start, batch in
                    starts.append(start)
                    seen += batch.map { Int($0.pixels[0]) }
                }
                XCTAssertEqual(seen, Array(rows), "\(base.url.lastPathComponent) rows \(rows)")
                XCTAssertEqual(starts, Array(stride(from: 0, to: rows.count, by: 3)), "\(base.url.lastPathComponent) rows \(rows)")
                if base.labels != nil { XCTAssertEqual(shard.labels, rows.map { $0 % 3 }) }
            }
        }
    }

    /// 5 images in batches of 2 as 3 shards (1, 2 and 2 batches' worth: rows 0..<2, 2..<4, 4..<5),
    /// each written by `FeaturesFile.write`, merged: the pool and spatial features equal the single
    /// pass's exactly, since every image shared its network batch with the same images.
    func testWrittenShardsMergeToTheSinglePass() throws {
        guard (try? WeightsLocator.locate()) != nil else {
            throw XCTSkip("no Inception weights (run scripts/setup.sh; searched \(WeightsLocator.candidates().map(\.path)))")
        }
        let dir = try temporaryDirectory(self)
        var rng = SplitMix64(seed: 5)
        let images = (0..<5).map { _ -> RGBImage in
            var image = RGBImage(width: 16, height: 16)
            for i in image.pixels.indices { image.pixels[i] = UInt8(rng.below(256)) }
            return image
        }
        let batch = dir.appendingPathComponent("batch.npz")
        try writeADMBatch(images, labels: [0, 1, 2, 3, 4], to: batch)
        let source = try openImageSource(batch)
        let provider = ExtractorProvider(batchSize: 2, progress: false)

        let whole = try FeaturesFile.write(source, shard: nil, provider: provider, to: dir.appendingPathComponent("whole.npz"))
        XCTAssertEqual(whole.rows, 0..<5)
        XCTAssertNil(whole.meta.shard)
        var parts: [URL] = []
        for (i, expected) in [0..<2, 2..<4, 4..<5].enumerated() {
            let url = dir.appendingPathComponent("part\(i).npz")
            let written = try FeaturesFile.write(source, shard: ShardSpec(index: i, count: 3), provider: provider, to: url)
            XCTAssertEqual(written.rows, expected)
            XCTAssertEqual(written.meta.shard, "\(i)/3")
            XCTAssertEqual(written.meta.firstRow, expected.lowerBound)
            XCTAssertEqual(written.meta.rows, expected.count)
            let npz = try NpzFile(contentsOf: url)
            XCTAssertEqual(try FeaturesFile.check(npz), expected.count)
            XCTAssertEqual(try npz.array("index").asInts(), Array(expected))
            XCTAssertEqual(try npz.array("arr_1").asInts(), Array(expected), "the labels travel with the rows")
            parts.append(url)
        }
        let merged = dir.appendingPathComponent("merged.npz")
        _ = try ShardMerge.merge(Array(parts.reversed()), to: merged)
        let a = try NpzFile(contentsOf: merged), b = try NpzFile(contentsOf: dir.appendingPathComponent("whole.npz"))
        for name in ["pool", "spatial"] {
            XCTAssertEqual(try a.array(name).asFloats(), try b.array(name).asFloats(), "\(name) bit-identical to the single pass")
        }
        XCTAssertTrue(ShardSpec(index: 0, count: 4).rows(of: 5, batchSize: 2).isEmpty, "3 batches cannot fill 4 shards")
        XCTAssertThrowsError(try FeaturesFile.write(source, shard: ShardSpec(index: 0, count: 4), provider: provider,
                                                    to: dir.appendingPathComponent("empty.npz")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("empty.npz").path))
    }
}
