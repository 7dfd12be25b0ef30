import Foundation
import InceptionNet
import TensorIO
import XCTest

/// The resize modes against the tools they copy, on a 64×64 image (fixtures/inception/resize_64.npz).
final class ResizeModeTests: XCTestCase {
    func check(_ mode: ResizeMode, key: String, tolerance: Float) throws {
        let reference = try NpzFile(contentsOf: inceptionFixture("resize_64.npz"))
        let rows = try reference.array("rows").asInts()
        let expected = try reference.array(key).asFloats()            // (3, rows.count, 299)
        let input = try inceptionInput(try firstImages("images_64.npz", count: 1), mode: mode)
        var got: [Float] = []
        for c in 0..<3 { for r in rows { for x in 0..<299 { got.append(input.data[(c * 299 + r) * 299 + x]) } } }
        let d = maxAbsDifference(got, expected)
        print("\(mode): max |Δ| = \(d)")
        XCTAssertLessThan(d, tolerance, "\(mode)")
    }

    /// pytorch-fid's F.interpolate bilinear: same float ops, 1e-6.
    func testPytorchMode() throws { try check(.pytorch, key: "pytorch", tolerance: 1e-6) }
    /// clean-fid's PIL bicubic on float32: double accumulation in both, 1e-5 (in units of the [-1, 1] input).
    func testCleanMode() throws { try check(.clean, key: "clean", tolerance: 1e-5) }
}
