import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// Issue 16, the weights: a folder, NaN weights and a corrupt zip member are refused by name
/// when the weights load, not later as a crash or as "mu[3] is nan".
final class WeightsReliabilityTests: XCTestCase {
    func testFolderAsWeightsIsAClearError() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertThrowsError(try InceptionWeights.load(dir)) { error in
            XCTAssertTrue("\(error)".contains(dir.path) && "\(error)".contains("a folder"), "\(error)")
        }
    }

    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        let dir = try temporaryDirectory(self)
        var values = [Float](repeating: 0.1, count: 32 * 3 * 3 * 3)
        values[40] = .nan
        let url = dir.appendingPathComponent("nan.safetensors")
        try writeSafetensors(["Conv2d_1a_3x3.conv.weight": Tensor(shape: [32, 3, 3, 3], values: values)], to: url)
        XCTAssertThrowsError(try InceptionWeights.load(url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("nan.safetensors") && text.contains("Conv2d_1a_3x3.conv.weight[40]")
                          && text.contains("finite weights"), text)
        }
    }

    /// A flipped bit inside a storage of the real weights: refused by the member's CRC-32
    /// (before: loaded silently, FID 48.68 instead of 51.61).
    func testCorruptWeightsAreRefusedByCRC() throws {
        let weights = try realWeights()
        let dir = try temporaryDirectory(self)
        var bytes = [UInt8](try Data(contentsOf: weights))
        bytes[bytes.count / 2] ^= 0x10      // inside some storage member (87 MB of them)
        let url = dir.appendingPathComponent("corrupt.pt")
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try InceptionWeights.load(url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("corrupt.pt") && text.contains("crc32") && text.contains("corrupt data"), text)
        }
    }
}
