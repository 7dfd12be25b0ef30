import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// safetensors files written by the `safetensors` package (0.8) read back exactly; ours round-trip.
final class SafetensorsTests: XCTestCase {
    func testReadsFileWrittenBySafetensors() throws {
        let values = try fixtureJSON("npy/values.json")
        let (tensors, metadata) = try readSafetensorsWithMetadata(fixture("safetensors/mixed.safetensors"))
        XCTAssertEqual(metadata, ["format": "np", "step": "7"])
        XCTAssertEqual(Set(tensors.keys), ["w.f32", "w.f64", "w.u8", "w.i64", "w.f16"])
        XCTAssertEqual(tensors["w.f32"]!.shape, [3, 5])
        XCTAssertEqual(tensors["w.f32"]!.array, (values["f4"] as! [String]).map { Float(Double($0)!) })
        XCTAssertEqual(tensors["w.f64"]!.array, (values["f8"] as! [String]).map { Float(Double($0)!) })
        XCTAssertEqual(tensors["w.u8"]!.array, (values["u8"] as! [Int]).map { Float($0) })
        XCTAssertEqual(tensors["w.f16"]!.array, [0.5, -2, 65504])
        // Stored types are kept by the array reader (int64 beyond 2^24 stays exact).
        let arrays = try readSafetensorsArrays(fixture("safetensors/mixed.safetensors")).arrays
        XCTAssertEqual(arrays["w.i64"]!.dtype, .int64)
        XCTAssertEqual(try arrays["w.i64"]!.asInt64(), (values["i8"] as! [NSNumber]).map { $0.int64Value })
        XCTAssertEqual(try readSafetensors(fixture("safetensors/bf16.safetensors"))["b"]!.array, [1, -2.5, 3.140625])
    }

    func testRoundTripWithMetadata() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5])
        let b = Tensor(shape: [4], values: [0.1, 0.2, 0.3, .greatestFiniteMagnitude])
        let scalar = Tensor(shape: [], values: [42])
        try writeSafetensors(["layer.b": b, "layer.a": a, "s": scalar], metadata: ["epoch": "3"], to: url)
        let (back, metadata) = try readSafetensorsWithMetadata(url)
        XCTAssertEqual(metadata, ["epoch": "3"])
        XCTAssertEqual(back["layer.a"]!.shape, [2, 3])
        XCTAssertEqual(back["layer.a"]!.array, a.array)
        XCTAssertEqual(back["layer.b"]!.array, b.array)
        XCTAssertEqual(back["s"]!.shape, [])
        XCTAssertEqual(back["s"]!.array, [42])
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(headerLength % 8, 0, "data is 8-byte aligned")
    }

    func testBadFilesGiveClearErrors() throws {
        assertFormatError(try readSafetensors(fixture("safetensors/bad_offsets.safetensors")), ["tensor x data_offsets", "16 bytes"])
        assertFormatError(try readSafetensors(fixture("npz/adm_stored.npz")), ["adm_stored.npz", "header length"])
        assertFormatError(try readSafetensors(fixture("bad/missing.safetensors")), ["no such file"])
        let dir = try temporaryDirectory(self)
        let cut = dir.appendingPathComponent("cut.safetensors")
        let whole = try Data(contentsOf: fixture("safetensors/mixed.safetensors"))
        try whole.prefix(whole.count - 10).write(to: cut)
        assertFormatError(try readSafetensors(cut), ["cut.safetensors", "data_offsets"])
        try whole.prefix(5).write(to: cut)
        assertFormatError(try readSafetensors(cut), ["header length", "truncated"])
    }
}
