import Foundation
import TensorIO
import TestSupport
import XCTest

/// `dimr-eval shapes`: the embedded data exported for other tools must be the trainer's images.
final class ShapesCommandTests: XCTestCase {
    func testStreamsAreContiguousAndHeldOutDiffers() throws {
        let dir = try temporaryDirectory(self)
        func export(_ name: String, _ extra: [String]) throws -> NpyArray {
            let url = dir.appendingPathComponent(name)
            let r = try CLI.run(["shapes", "-o", url.path] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let file = try NpzFile(contentsOf: url)
            let labels = try file.array("arr_1")
            XCTAssertEqual(labels.shape, [try file.header("arr_0").shape[0]])
            return try file.array("arr_0")
        }
        let all = try export("all.npz", ["--count", "5"])
        let tail = try export("tail.npz", ["--count", "3", "--first", "2"])
        let held = try export("held.npz", ["--count", "5", "--held-out"])
        let heldTail = try export("heldtail.npz", ["--count", "3", "--first", "2", "--held-out"])
        XCTAssertEqual(all.shape, [5, 32, 32, 3])
        let per = 32 * 32 * 3
        // images 2..<5 of a stream are the same whether exported from 0 or from 2
        XCTAssertEqual(Array(all.bytes[(2 * per)...]), tail.bytes)
        XCTAssertEqual(Array(held.bytes[(2 * per)...]), heldTail.bytes)
        // the held-out stream is another seed: no image in common with the training stream
        for i in 0..<5 { for j in 0..<5 {
            XCTAssertNotEqual(Array(all.bytes[(i * per)..<((i + 1) * per)]), Array(held.bytes[(j * per)..<((j + 1) * per)]))
        } }
        let bad = try CLI.run(["shapes", "--count", "0", "-o", dir.appendingPathComponent("x.npz").path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--count"), bad.stderr)
    }
}
