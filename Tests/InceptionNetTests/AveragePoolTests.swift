import InceptionNet
import TensorCore
import XCTest

/// The separable TF average pool against the generic pooling op (count_include_pad=false):
/// only the summation order differs, so 1e-5 relative on values of order 1.
final class AveragePoolTests: XCTestCase {
    func testMatchesGenericAveragePool() {
        for shape in [[2, 3, 35, 35], [1, 2, 8, 8], [1, 1, 1, 5], [1, 1, 4, 1], [1, 1, 2, 2], [1, 1, 1, 1]] {
            let x = Tensor(uninitialized: shape)
            var state: UInt32 = 12345
            for i in 0..<x.count { state = state &* 1664525 &+ 1013904223; x.data[i] = Float(state >> 8) / Float(1 << 24) * 4 - 2 }
            let expected = avgPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1), countIncludePad: false)
            let got = averagePool3x3(x)
            XCTAssertEqual(got.shape, expected.shape)
            XCTAssertLessThan(maxAbsDifference(got.array, expected.array), 1e-5, "\(shape)")
        }
    }
}
