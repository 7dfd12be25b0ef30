import Foundation
import TensorIO
import TestSupport
import XCTest

/// .npz archives written by np.savez (stored) and np.savez_compressed (deflated); our writers'
/// archives read back; corrupt and truncated archives give errors.
final class NpzTests: XCTestCase {
    func testReadsStoredAndDeflatedArchivesFromNumpy() throws {
        let values = try fixtureJSON("npz/values.json")
        let images = (values["images"] as! [Int]).map { UInt8($0) }
        for name in ["adm_stored.npz", "adm_deflated.npz"] {
            let npz = try NpzFile(contentsOf: fixture("npz/" + name))
            XCTAssertEqual(npz.names, ["arr_0", "arr_1"], name)
            XCTAssertTrue(try npz.header("arr_0") == (.uint8, [5, 6, 4, 3]), name)
            XCTAssertEqual(try npz.array("arr_0").asUInt8(), images, name)
            XCTAssertEqual(try npz.array("arr_1").asInts(), values["labels"] as! [Int], name)
        }
        for name in ["named.npz", "named_deflated.npz"] {
            let npz = try NpzFile(contentsOf: fixture("npz/" + name))
            XCTAssertEqual(Set(npz.names), ["mu", "sigma", "f4"])
            XCTAssertEqual(try npz.array("mu").asDoubles(), (values["mu"] as! [String]).map { Double($0)! })
            let sigma = try npz.array("sigma")
            XCTAssertEqual(sigma.shape, [4, 4])
            XCTAssertEqual(try sigma.asDoubles(), (values["sigma"] as! [String]).map { Double($0)! })
            XCTAssertEqual(try npz.array("f4"), try readNpy(fixture("npy/f4.npy")))
            assertFormatError(try npz.array("arr_0"), ["member arr_0", "mu"])
        }
    }

    func testStreamingRowsEqualsWholeRead() throws {
        for name in ["adm_stored.npz", "adm_deflated.npz"] {
            let npz = try NpzFile(contentsOf: fixture("npz/" + name))
            let whole = try npz.array("arr_0").bytes
            for chunk in [1, 2, 3, 5, 100] {
                var collected: [UInt8] = []
                var expectedFirst = 0
                try npz.streamRows("arr_0", rowsPerChunk: chunk) { first, rows, bytes in
                    XCTAssertEqual(first, expectedFirst)
                    XCTAssertEqual(rows, min(chunk, 5 - first))
                    XCTAssertEqual(bytes.count, rows * 6 * 4 * 3)
                    expectedFirst += rows
                    collected += bytes
                }
                XCTAssertEqual(collected, whole, "\(name) chunk \(chunk)")
            }
        }
    }

    func testWriteNpzRoundTripStoredAndCompressed() throws {
        let dir = try temporaryDirectory(self)
        let pixels = (0..<(7 * 5 * 3 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let arrays: [(String, NpyArray)] = [
            ("arr_0", NpyArray(uint8: pixels, shape: [7, 5, 3, 3])),
            ("arr_1", NpyArray(int64: [0, 1, 2, 3, 4, 5, 6], shape: [7])),
            ("mu", NpyArray(doubles: [1.25, -3], shape: [2])),
        ]
        for compressed in [false, true] {
            let url = dir.appendingPathComponent("out-\(compressed).npz")
            try writeNpz(arrays, to: url, compressed: compressed)
            let npz = try NpzFile(contentsOf: url)
            XCTAssertEqual(npz.names, ["arr_0", "arr_1", "mu"])
            for (name, array) in arrays { XCTAssertEqual(try npz.array(name), array, name) }
            let source = try openImageSource(url)
            XCTAssertEqual(source.count, 7)
            XCTAssertEqual(source.labels, [0, 1, 2, 3, 4, 5, 6])
        }
        let listing = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(listing.sorted(), ["out-false.npz", "out-true.npz"], "no temporary files left behind")
    }

    func testStreamWriterWritesRowsWithoutHoldingThem() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("samples.npz")
        let (n, h, w) = (23, 8, 6)
        let writer = try NpzStreamWriter(url: url, dtype: .uint8, shape: [n, h, w, 3])
        var expected: [UInt8] = []
        var written = 0
        while written < n {
            let batch = (0..<min(4, n - written)).map { i in
                RGBImage(width: w, height: h, pixels: (0..<(h * w * 3)).map { UInt8(truncatingIfNeeded: ($0 + 13 * (written + i)) &* 7) })
            }
            try writer.append(images: batch)
            expected += batch.flatMap(\.pixels)
            written += batch.count
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "nothing at the destination before finish()")
        try writer.finish(extras: [("arr_1", NpyArray(int64: (0..<Int64(n)).map { $0 % 10 }, shape: [n]))])
        let npz = try NpzFile(contentsOf: url)
        XCTAssertEqual(npz.names, ["arr_0", "arr_1"])
        XCTAssertEqual(try npz.array("arr_0").bytes, expected)
        XCTAssertEqual(try npz.array("arr_1").asInts(), (0..<n).map { $0 % 10 })
        var streamed: [UInt8] = []
        try npz.streamRows("arr_0", rowsPerChunk: 5) { _, _, bytes in streamed += bytes }
        XCTAssertEqual(streamed, expected)

        let floats = try NpzStreamWriter(url: dir.appendingPathComponent("f.npz"), name: "feats", dtype: .float32, shape: [3, 2])
        try floats.append(floats: [1, 2, 3, 4])
        try floats.append(NpyArray(floats: [5, 6], shape: [1, 2]))
        try floats.finish()
        XCTAssertEqual(try NpzFile(contentsOf: dir.appendingPathComponent("f.npz")).array("feats").asFloats(), [1, 2, 3, 4, 5, 6])
    }

    /// `features` streams `pool` into the archive and `spatial` through a spool file: both arrays
    /// must come back whole, in member order, and no temporary file may stay behind.
    func testSpooledSecondArrayRoundTripsAndCleansUp() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("two.npz")
        let writer = try NpzStreamWriter(url: url, name: "pool", dtype: .float32, shape: [3, 2])
        let spatial = try writer.spool(name: "spatial", dtype: .float32, shape: [3, 4])
        for i in 0..<3 {
            try writer.append(floats: [Float(i), Float(i) + 0.5])
            try spatial.append(floats: (0..<4).map { Float(10 * i + $0) })
        }
        try writer.finish(extras: [("index", NpyArray(int64: [0, 1, 2], shape: [3]))])
        let npz = try NpzFile(contentsOf: url)
        XCTAssertEqual(try npz.array("pool").asFloats(), [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertEqual(try npz.array("spatial").asFloats(), (0..<3).flatMap { i in (0..<4).map { Float(10 * i + $0) } })
        XCTAssertEqual(try npz.header("spatial").shape, [3, 4])
        XCTAssertEqual(try npz.array("index").asInts(), [0, 1, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["two.npz"], "spool file removed")

        // A spooled array left short fails the whole file and leaves nothing behind.
        let short = dir.appendingPathComponent("short.npz")
        let w2 = try NpzStreamWriter(url: short, name: "pool", dtype: .float32, shape: [1, 1])
        let s2 = try w2.spool(name: "spatial", dtype: .float32, shape: [2, 1])
        assertFormatError(try s2.append(floats: [1, 2, 3]), ["spatial rows", "at most 2 rows"])
        try w2.append(floats: [1]); try s2.append(floats: [1])
        assertFormatError(try w2.finish(), ["spatial rows", "2 rows", "1 written"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["two.npz"])
    }

    func testStreamWriterRefusesWrongRowsAndLeavesNoFile() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("short.npz")
        let writer = try NpzStreamWriter(url: url, dtype: .float32, shape: [4, 3])
        assertFormatError(try writer.append(floats: [1, 2]), ["arr_0 rows", "multiple of 12 bytes"])
        assertFormatError(try writer.append(uint8: [1, 2, 3]), ["float32 values", "uint8"])
        assertFormatError(try writer.append(images: [RGBImage(width: 1, height: 1, pixels: [1, 2, 3])]), ["arr_0 image"])
        try writer.append(floats: [Float](repeating: 1, count: 6))
        assertFormatError(try writer.append(floats: [Float](repeating: 1, count: 9)), ["at most 4 rows"])
        assertFormatError(try writer.finish(), ["arr_0 rows", "4 rows", "2 written"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "temporary file removed")

        let cancelled = try NpzStreamWriter(url: url, dtype: .uint8, shape: [1])
        cancelled.cancel()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testBadArchivesGiveClearErrors() throws {
        assertFormatError(try NpzFile(contentsOf: fixture("bad/not_a_zip.npz")), ["not_a_zip.npz", "zip container", "not a zip"])
        assertFormatError(try NpzFile(contentsOf: fixture("bad/missing.npz")), ["missing.npz", "no such file"])
        // Half of the file: the zip directory at the end is gone.
        assertFormatError(try NpzFile(contentsOf: fixture("bad/truncated.npz")), ["truncated.npz", "zip container", "truncated"])
        // Whichever stage notices, the damage is reported, never a crash or wrong data.
        func readAll(_ name: String) throws {
            let npz = try NpzFile(contentsOf: fixture("bad/" + name))
            for member in npz.names { _ = try npz.array(member) }
        }
        assertFormatError(try readAll("truncated_stored.npz"), ["truncated_stored.npz"])
        assertFormatError(try readAll("corrupt_deflate.npz"), ["corrupt_deflate.npz", "arr_0"])
        assertFormatError(try readAll("corrupt_crc.npz"), ["corrupt_crc.npz", "arr_0.npy crc32", "corrupt"])
        let objects = try NpzFile(contentsOf: fixture("bad/object_member.npz"))
        assertFormatError(try objects.array("arr_0"), ["arr_0.npy", "object array", "pickle"])
        // An error thrown by the caller's body comes out unchanged.
        struct Stop: Error {}
        let npz = try NpzFile(contentsOf: fixture("npz/adm_deflated.npz"))
        XCTAssertThrowsError(try npz.streamRows("arr_0", rowsPerChunk: 1) { first, _, _ in if first == 2 { throw Stop() } }) {
            XCTAssertTrue($0 is Stop)
        }
        XCTAssertEqual(try npz.array("arr_1").asInts(), [3, 1, 4, 1, 5], "the archive is still usable afterwards")
    }
}
