import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// The PyTorch file reader against files torch.save wrote (fixtures/inception/checkpoint_*.pt),
/// and against broken input: every corruption must be a thrown FormatError, never a trap.
final class TorchCheckpointTests: XCTestCase {
    /// Values the fixture script saved: base = torch.randn(3, 4, generator=manual_seed(0)).
    func checkCheckpoint(_ name: String, format: TorchCheckpoint.Format) throws {
        let checkpoint = try TorchCheckpoint(contentsOf: inceptionFixture(name))
        XCTAssertEqual(checkpoint.format, format)
        let t = try checkpoint.tensorDictionary()
        XCTAssertEqual(Set(t.keys), ["float", "half", "double", "long", "transposed", "slice", "nested.bias", "param"])
        let base = try XCTUnwrap(t["float"])
        XCTAssertEqual(base.shape, [3, 4])
        XCTAssertEqual(base.data[0], 1.5409961, accuracy: 1e-6)   // torch.randn(3, 4) with seed 0
        XCTAssertEqual(t["double"]!.array, base.array)
        XCTAssertLessThan(maxAbsDifference(t["half"]!.array, base.array), 2e-3)  // float16 rounding
        XCTAssertEqual(t["long"]!.array, [0, 1, 2, 3, 4, 5])
        let tr = t["transposed"]!
        XCTAssertEqual(tr.shape, [4, 3])
        for i in 0..<4 { for j in 0..<3 { XCTAssertEqual(tr.data[i * 3 + j], base.data[j * 4 + i]) } }
        let s = t["slice"]!                                         // base[1:, 1:3]
        XCTAssertEqual(s.shape, [2, 2])
        XCTAssertEqual(s.array, [base.data[5], base.data[6], base.data[9], base.data[10]])
        XCTAssertEqual(t["nested.bias"]!.array, [1, 1])
        XCTAssertEqual(t["param"]!.array, [0.5, 0.5, 0.5, 0.5])
    }

    func testZipCheckpoint() throws { try checkCheckpoint("checkpoint_zip.pt", format: .zip) }
    func testLegacyCheckpoint() throws { try checkCheckpoint("checkpoint_legacy.pt", format: .legacy) }

    /// Our writer's output reads back exactly (torch.load reading it was checked by hand:
    /// `torch.load(path)` gives the same tensors).
    func testStateDictWriterRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, -6]), b = Tensor(shape: [70000], repeating: 0.25)
        let url = dir.appendingPathComponent("w.pth")
        try writeTorchStateDict([("layer.weight", a), ("big", b)], to: url)
        let back = try TorchCheckpoint(contentsOf: url)
        XCTAssertEqual(back.format, .zip)
        let t = try back.tensors()
        XCTAssertEqual(t.map(\.name), ["layer.weight", "big"])
        XCTAssertEqual(t[0].tensor.shape, [2, 3]); XCTAssertEqual(t[0].tensor.array, a.array)
        XCTAssertEqual(t[1].tensor.array, b.array)
    }

    func testTruncatedAndCorruptFilesThrow() throws {
        let dir = try temporaryDirectory(self)
        for name in ["checkpoint_zip.pt", "checkpoint_legacy.pt"] {
            let bytes = try [UInt8](Data(contentsOf: inceptionFixture(name)))
            for cut in [1, 16, 100, bytes.count / 2, bytes.count - 30] {
                let url = dir.appendingPathComponent("cut-\(cut)-\(name)")
                try Data(bytes[0..<cut]).write(to: url)
                XCTAssertThrowsError(try TorchCheckpoint(contentsOf: url).tensors(), "\(name) cut at \(cut)") { error in
                    XCTAssertTrue(error is FormatError, "\(name) cut at \(cut): \(error)")
                }
            }
            // flip bytes throughout the legacy pickle: any outcome but a crash is acceptable
            if name == "checkpoint_legacy.pt" {
                for position in stride(from: 20, to: bytes.count, by: 37) {
                    var corrupt = bytes
                    corrupt[position] ^= 0x5A
                    let url = dir.appendingPathComponent("flip-\(position).pt")
                    try Data(corrupt).write(to: url)
                    _ = try? TorchCheckpoint(contentsOf: url).tensors()
                }
            }
        }
        let notTorch = dir.appendingPathComponent("x.pt")
        try Data("hello".utf8).write(to: notTorch)
        XCTAssertThrowsError(try TorchCheckpoint(contentsOf: notTorch)) { XCTAssertTrue("\($0)".contains("PyTorch file")) }
    }

    func testPickleErrorsNameTheProblem() {
        let cases: [([UInt8], String)] = [
            ([0x80, 0x02, 0x4B], "truncated"),                    // BININT1 without its byte
            ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "length"), // BINUNICODE longer than the data
            ([0x80, 0x02, 0xFF, 0x2E], "opcode 0xFF"),             // unknown opcode
            ([0x80, 0x02, 0x2E], "empty stack"),                   // STOP with nothing
            ([0x80, 0x02, 0x68, 0x05, 0x2E], "memo entry 5"),      // BINGET of nothing
            ([0x80, 0x02, 0x75, 0x2E], "MARK"),                    // SETITEMS without MARK
            ([0x80, 0x02, 0x4E, 0x4B, 0x01, 0x4B, 0x02, 0x73, 0x2E], "dict"),  // SETITEM on None
        ]
        for (bytes, needle) in cases {
            XCTAssertThrowsError(try Unpickler.load(bytes, file: "t.pkl")) { error in
                XCTAssertTrue(error is FormatError)
                XCTAssertTrue("\(error)".contains(needle), "\(bytes): \(error) should mention \(needle)")
                XCTAssertTrue("\(error)".hasPrefix("t.pkl"), "\(error)")
            }
        }
        // and a good one: {'a': (1, -2, 3.5, True, None, 'é')}
        let good: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x58, 0x01, 0, 0, 0, 0x61, 0x28, 0x4B, 0x01, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF,
                             0x47, 0x40, 0x0C, 0, 0, 0, 0, 0, 0, 0x88, 0x4E, 0x8C, 0x02, 0xC3, 0xA9, 0x74, 0x73, 0x2E]
        guard case .dict(let d)? = try? Unpickler.load(good, file: "g.pkl"), let t = d["a"]?.tupleItems else {
            return XCTFail("did not decode")
        }
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(t[0].int, 1); XCTAssertEqual(t[1].int, -2)
        if case .float(let f) = t[2] { XCTAssertEqual(f, 3.5) } else { XCTFail("\(t[2])") }
        XCTAssertEqual(t[5].string, "é")
    }
}
