import XCTest
import Foundation
import TestSupport
import TensorCore

/// Attention and softmax forwards against a direct double-precision implementation of
/// softmax(QKᵀ/√d)V per head (tolerance 1e-5); backwards: finite differences in DiMRTrainerTests.
final class AttentionTests: XCTestCase {
    func testAttentionMatchesNaive() {
        let b = 2, t = 5, d = 8, heads = 2, hd = 4
        let qkv = Tensor(shape: [b, t, 3 * d], values: (0..<(b * t * 3 * d)).map { Float(sin(Double($0) * 0.61)) })
        let (out, probs) = attention(qkv, heads: heads)
        XCTAssertEqual(probs.shape, [b, heads, t, t])
        for s in 0..<b { for h in 0..<heads { for i in 0..<t {
            let q = (0..<hd).map { Double(qkv.data[(s * t + i) * 3 * d + h * hd + $0]) }
            var scores = (0..<t).map { j -> Double in
                (0..<hd).reduce(0.0) { $0 + q[$1] * Double(qkv.data[(s * t + j) * 3 * d + d + h * hd + $1]) } / Double(hd).squareRoot()
            }
            let m = scores.max()!; scores = scores.map { exp($0 - m) }; let z = scores.reduce(0, +)
            for c in 0..<hd {
                let expected = (0..<t).reduce(0.0) { $0 + scores[$1] / z * Double(qkv.data[(s * t + $1) * 3 * d + 2 * d + h * hd + c]) }
                XCTAssertEqual(Double(out.data[(s * t + i) * d + h * hd + c]), expected, accuracy: 1e-5)
            }
        } } }
    }

    func testSoftmaxRowsSumToOne() {
        let x = Tensor(shape: [3, 7], values: (0..<21).map { Float($0) * 10 })  // large values: max subtraction matters
        let y = softmax(x, scale: 0.5)
        for r in 0..<3 { XCTAssertEqual((0..<7).reduce(Float(0)) { $0 + y.data[r * 7 + $1] }, 1, accuracy: 1e-6) }
        XCTAssertTrue(y.array.allSatisfy(\.isFinite))
    }

    /// softmax and its backward (the C kernel attention uses) against Double, rows of 37 values
    /// (a vector tail) spread over ±40, in the AVX2 build and in the baseline one.
    func testSoftmaxAndBackwardAgainstDouble() {
        let rows = 4, c = 37
        let x = Tensor(shape: [rows, c], values: (0..<(rows * c)).map { Float(40 * sin(Double($0) * 0.37)) })
        let dy = Tensor(shape: [rows, c], values: (0..<(rows * c)).map { Float(cos(Double($0) * 0.91)) })
        var want = [Double](repeating: 0, count: rows * c), wantGrad = want
        for r in 0..<rows {
            let z = (0..<c).map { 0.25 * Double(x.data[r * c + $0]) }, m = z.max()!
            let e = z.map { exp($0 - m) }, total = e.reduce(0, +)
            for j in 0..<c { want[r * c + j] = e[j] / total }
            let dot = (0..<c).reduce(0.0) { $0 + Double(dy.data[r * c + $1]) * want[r * c + $1] }
            for j in 0..<c { wantGrad[r * c + j] = 0.25 * want[r * c + j] * (Double(dy.data[r * c + j]) - dot) }
        }
        forEachKernelBuild { build in
            let y = softmax(x, scale: 0.25)
            assertClose(y, want, shape: [rows, c], tolerance: 1e-6, "softmax (\(build))")
            assertClose(softmaxBackward(dy, output: y, scale: 0.25), wantGrad, shape: [rows, c], tolerance: 1e-5,
                        "softmax backward (\(build))")
        }
    }
}
