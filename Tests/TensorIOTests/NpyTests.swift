import Foundation
import TensorIO
import TestSupport
import XCTest

/// .npy files written by numpy 2.4 (fixtures/io/npy) read back exactly; our files round-trip.
final class NpyTests: XCTestCase {
    func testReadsEachDTypeWrittenByNumpy() throws {
        let values = try fixtureJSON("npy/values.json")
        let u8 = try readNpy(fixture("npy/u8.npy"))
        XCTAssertEqual(u8.dtype, .uint8)
        XCTAssertEqual(u8.shape, [2, 3, 4])
        XCTAssertEqual(try u8.asUInt8(), (values["u8"] as! [Int]).map { UInt8($0) })

        let f4 = try readNpy(fixture("npy/f4.npy"))
        XCTAssertEqual(f4.shape, [3, 5])
        XCTAssertEqual(try f4.asFloats(), (values["f4"] as! [String]).map { Float(Double($0)!) })  // exact

        let f8 = try readNpy(fixture("npy/f8.npy"))
        XCTAssertEqual(f8.dtype, .float64)
        XCTAssertEqual(try f8.asDoubles(), (values["f8"] as! [String]).map { Double($0)! })

        let i8 = try readNpy(fixture("npy/i8.npy"))
        XCTAssertEqual(try i8.asInt64(), (values["i8"] as! [NSNumber]).map { $0.int64Value })
        XCTAssertEqual(try i8.asInt64()[3], 1 << 40)

        XCTAssertEqual(try readNpy(fixture("npy/i4.npy")).asInt64(), [1, -2, 3, 2_147_483_647])
        let b = try readNpy(fixture("npy/bool.npy"))
        XCTAssertEqual(b.dtype, .bool)
        XCTAssertEqual(try b.asUInt8(), [1, 0, 0, 1])
        // float16 → float: exact for these values (65504 is half's max, 6.1035156e-05 its smallest normal,
        // 1e-7 rounds to the subnormal 1.1920929e-07).
        XCTAssertEqual(try readNpy(fixture("npy/f2.npy")).asFloats(), [0.5, -2, 65504, 6.1035156e-05, 1.1920929e-07])
    }

    func testHeaderVersionsByteOrderScalarsAndEmptyArrays() throws {
        let reference = try readNpy(fixture("npy/f4.npy"))
        for name in ["f4_v2.npy", "f4_v3.npy", "f4_big_endian.npy"] {
            let a = try readNpy(fixture("npy/" + name))
            XCTAssertEqual(a, reference, name)  // big-endian is swapped to little-endian on read
        }
        let scalar = try readNpy(fixture("npy/scalar_f8.npy"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(try scalar.asDoubles(), [2.5])
        let empty = try readNpy(fixture("npy/empty_f4.npy"))
        XCTAssertEqual(empty.shape, [0, 7])
        XCTAssertEqual(try empty.asFloats(), [])
    }

    func testRoundTripEveryDType() throws {
        let dir = try temporaryDirectory(self)
        let arrays: [NpyArray] = [
            NpyArray(uint8: [0, 1, 255, 7, 8, 9], shape: [2, 3]),
            NpyArray(floats: [1.5, -2, .infinity, 0], shape: [2, 2]),
            NpyArray(doubles: [Double.pi], shape: [1]),
            NpyArray(int64: [Int64.min, Int64.max, 0], shape: [3]),
            NpyArray(int32: [5], shape: []),
            try NpyArray(dtype: .float16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0]),  // 1, -2
        ]
        for (i, a) in arrays.enumerated() {
            let url = dir.appendingPathComponent("a\(i).npy")
            try writeNpy(a, to: url)
            XCTAssertEqual(try readNpy(url), a)
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
            XCTAssertEqual((size - a.bytes.count) % 64, 0, "numpy aligns the data to 64 bytes")
        }
        XCTAssertEqual(try arrays[5].asFloats(), [1, -2])
        // A shape so long that the header needs format 2.0.
        let tall = NpyArray(uint8: [9], shape: [1] + [Int](repeating: 1, count: 22_000))
        let url = dir.appendingPathComponent("v2.npy")
        try writeNpy(tall, to: url)
        XCTAssertEqual(try Data(contentsOf: url)[6], 2)
        XCTAssertEqual(try readNpy(url), tall)
    }

    func testConversionsRefuseLossyRequests() throws {
        let f = NpyArray(floats: [1, 2], shape: [2])
        assertFormatError(try f.asUInt8(), ["dtype", "uint8", "float32"])
        assertFormatError(try f.asInt64(), ["dtype", "integer", "float32"])
        XCTAssertEqual(try NpyArray(uint8: [3, 4], shape: [2]).asFloats(), [3, 4])
        XCTAssertEqual(try NpyArray(int64: [3, -4], shape: [2]).asDoubles(), [3, -4])
        assertFormatError(try NpyArray(dtype: .float32, shape: [3], bytes: [0, 0, 0, 0]), ["12 bytes", "found 4 bytes"])
    }

    func testStreamingRowsEqualsWholeRead() throws {
        let whole = try readNpy(fixture("npz/adm_images.npy"))
        for chunk in [1, 2, 5, 9] {
            var collected: [UInt8] = []
            var firsts: [Int] = []
            try NpyFile(fixture("npz/adm_images.npy")).streamRows(rowsPerChunk: chunk) { first, rows, bytes in
                firsts.append(first)
                XCTAssertEqual(bytes.count, rows * 6 * 4 * 3)
                collected += bytes
            }
            XCTAssertEqual(collected, whole.bytes, "chunk \(chunk)")
            XCTAssertEqual(firsts, Array(stride(from: 0, to: 5, by: chunk)))
        }
    }

    func testBadFilesGiveClearErrors() {
        assertFormatError(try readNpy(fixture("bad/fortran.npy")), ["fortran.npy", "fortran_order", "C order", "Fortran"])
        assertFormatError(try readNpy(fixture("bad/object.npy")), ["object.npy", "descr", "object array", "pickle"])
        assertFormatError(try readNpy(fixture("bad/structured.npy")), ["descr", "structured"])
        assertFormatError(try readNpy(fixture("bad/complex.npy")), ["descr", "'<c8'"])
        assertFormatError(try readNpy(fixture("bad/truncated.npy")), ["truncated.npy", "npy data", "truncated"])
        assertFormatError(try readNpy(fixture("bad/bad_magic.npy")), ["npy magic", "\\x93NUMPY", "93 4E 55 4D 50 58"])
        assertFormatError(try readNpy(fixture("bad/bad_dict.npy")), ["npy shape", "tuple"])
        assertFormatError(try readNpy(fixture("bad/no_such_file.npy")), ["no such file"])
        assertFormatError(try readNpy(fixture("bad/not_a_zip.npz")), ["npy magic"])
    }
}
