import Foundation
import TensorIO
import TestSupport
import XCTest

/// Past 4 GiB (zip64 sizes and offsets): write with NpzStreamWriter, stream back through
/// ZIPFoundation. Writes ~4.4 GB to the temporary directory, so it runs only when asked:
///   IO_LARGE_TESTS=1 swift test -c release --filter LargeNpzTests
final class LargeNpzTests: XCTestCase {
    func testZip64StreamWriteAndRead() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["IO_LARGE_TESTS"] == "1", "set IO_LARGE_TESTS=1 to run")
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("large.npz")
        let (n, side) = (22_000, 256)  // 22 000 × 256 × 256 × 3 = 4.33 GB
        let imageBytes = side * side * 3
        func pixel(_ image: Int, _ k: Int) -> UInt8 { UInt8(truncatingIfNeeded: image &* 31 &+ k / 3 &+ k) }
        let writer = try NpzStreamWriter(url: url, dtype: .uint8, shape: [n, side, side, 3])
        var batch = [UInt8](repeating: 0, count: 500 * imageBytes)
        var written = 0
        while written < n {
            let rows = min(500, n - written)
            for i in 0..<rows { for k in stride(from: 0, to: imageBytes, by: 4099) { batch[i * imageBytes + k] = pixel(written + i, k) } }
            try batch.withUnsafeBytes { try writer.append(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<(rows * imageBytes)])) }
            // reset the sampled positions so every batch starts from zeros
            for i in 0..<rows { for k in stride(from: 0, to: imageBytes, by: 4099) { batch[i * imageBytes + k] = 0 } }
            written += rows
        }
        try writer.finish(extras: [("arr_1", NpyArray(int64: (0..<Int64(n)).map { $0 % 1000 }, shape: [n]))])

        let source = try openImageSource(url)
        XCTAssertEqual(source.count, n)
        XCTAssertEqual(source.labels?.last, (n - 1) % 1000, "arr_1 sits past 4 GiB")
        var seen = 0
        try source.forEachBatch(size: 1000) { start, images in
            for (i, image) in images.enumerated() {
                for k in stride(from: 0, to: imageBytes, by: 4099) where image.pixels[k] != pixel(start + i, k) {
                    XCTFail("image \(start + i) byte \(k)"); return
                }
            }
            seen += images.count
        }
        XCTAssertEqual(seen, n)
        if let python = ProcessInfo.processInfo.environment["IO_LARGE_KEEP"] {
            try FileManager.default.moveItem(at: url, to: URL(fileURLWithPath: python))  // for a numpy cross-check
        }
    }
}
