import Foundation
import TensorIO
import TestSupport
import XCTest

/// Atomic writes and the progress line.
final class SupportTests: XCTestCase {
    func testAtomicWriterLeavesOldFileUntilCommit() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("out.bin")
        try writeAtomically(Data([1, 2, 3]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]))
        do {
            let writer = try AtomicFileWriter(url)
            try writer.write([9, 9])
            XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]), "old content until commit")
            writer.abort()
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"], "temporary removed")
        let writer = try AtomicFileWriter(url)
        try writer.write([7, 7, 7, 7])
        try writer.patch(at: 1, [5])
        try writer.commit()
        XCTAssertEqual(try Data(contentsOf: url), Data([7, 5, 7, 7]))
        assertFormatError(try writeAtomically(Data([1]), to: dir.appendingPathComponent("no/such/dir/x")), ["write", "cannot create"])
    }

    func testCRC32KnownAnswers() {
        var crc = CRC32Accumulator()
        crc.update(Array("123456789".utf8))
        XCTAssertEqual(crc.value, 0xCBF4_3926, "the zip/PNG CRC-32 check value")
        // Fed in uneven pieces (exercising the 8-byte and tail loops), same as all at once.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        var whole = CRC32Accumulator(), pieces = CRC32Accumulator()
        whole.update(bytes)
        var i = 0
        for size in [1, 3, 8, 13, 64, 200, 711] { pieces.update(Array(bytes[i..<(i + size)])); i += size }
        XCTAssertEqual(pieces.value, whole.value)
        var empty = CRC32Accumulator()
        empty.update([])
        XCTAssertEqual(empty.value, 0)
    }

    func testProgressCountsAndFormats() {
        // Unqualified `Progress` is TensorIO's even with Foundation imported: TensorIO imports Foundation,
        // so its declaration shadows Foundation.Progress (this line would not compile otherwise).
        let progress = Progress(total: 100, label: "features", enabled: false)
        progress.advance(by: 40)
        progress.advance()
        XCTAssertEqual(progress.count, 41)
        let line = progress.line(now: Date().addingTimeInterval(1))
        XCTAssertTrue(line.hasPrefix("features 41/100 img"), line)
        XCTAssertTrue(line.contains("img/s"), line)
        XCTAssertTrue(line.contains("ETA"), line)
        XCTAssertTrue(progress.line(final: true).contains("done in"))
        progress.finish()
        progress.finish()  // idempotent
    }
}
