import TensorCore
import XCTest

/// Pooling against naive window loops (padding skipped, divisor counted by hand). Tolerance 1e-6
/// relative: at most 9 float32 additions.
final class PoolingTests: XCTestCase {
    func naivePool(_ x: Tensor, k: (Int, Int), s: (Int, Int), p: Padding2D, mode: String) -> (shape: [Int], values: [Double]) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + p.top + p.bottom - k.0) / s.0 + 1, ow = (w + p.left + p.right - k.1) / s.1 + 1
        var out = [Double]()
        for plane in 0..<(n * c) { for r in 0..<oh { for q in 0..<ow {
            var m = -Double.infinity, sum = 0.0, count = 0
            for a in 0..<k.0 { for b in 0..<k.1 {
                let ih = r * s.0 - p.top + a, iw = q * s.1 - p.left + b
                guard ih >= 0 && ih < h && iw >= 0 && iw < w else { continue }
                let v = Double(x.data[(plane * h + ih) * w + iw])
                m = max(m, v); sum += v; count += 1
            } }
            switch mode {
            case "max": out.append(m)
            case "avgExclude": out.append(sum / Double(count))
            default: out.append(sum / Double(k.0 * k.1))
            }
        } } }
        return ([n, c, oh, ow], out)
    }

    func testMaxAndAveragePools() {
        let configs: [((Int, Int), (Int, Int), Padding2D)] = [
            ((3, 3), (2, 2), .zero),                 // Inception's stem max pools
            ((3, 3), (1, 1), .same(1, 1)),           // Inception's avg-pool branches
            ((2, 3), (2, 1), Padding2D(top: 1, bottom: 0, left: 0, right: 2)),
            ((8, 8), (8, 8), .zero),                 // final 8x8 average
        ]
        for (i, (k, s, p)) in configs.enumerated() {
            let x = randomTensor([2, 3, 8 + i, 8 + 2 * i], seed: UInt64(i))
            let ref = naivePool(x, k: k, s: s, p: p, mode: "max")
            assertClose(maxPool2d(x, kernel: k, stride: s, padding: p), ref.values, shape: ref.shape, tolerance: 0, "max \(k) \(s) \(p)")
            let ex = naivePool(x, k: k, s: s, p: p, mode: "avgExclude")
            assertClose(avgPool2d(x, kernel: k, stride: s, padding: p, countIncludePad: false), ex.values, shape: ex.shape,
                        tolerance: 1e-6, "avg exclude \(k) \(s) \(p)")
            let inc = naivePool(x, k: k, s: s, p: p, mode: "avgInclude")
            assertClose(avgPool2d(x, kernel: k, stride: s, padding: p, countIncludePad: true), inc.values, shape: inc.shape,
                        tolerance: 1e-6, "avg include \(k) \(s) \(p)")
        }
    }

    /// Padding must never win a max: an all-negative input keeps its negative maxima at the borders.
    func testMaxPoolPaddingIsNegativeInfinity() {
        let x = Tensor(shape: [1, 1, 2, 2], values: [-5, -4, -3, -2])
        XCTAssertEqual(maxPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1)).array, [-2, -2, -2, -2])
    }

    func testGlobalAveragePool() {
        let x = randomTensor([2, 5, 8, 8], seed: 3)
        let y = globalAvgPool2d(x)
        XCTAssertEqual(y.shape, [2, 5, 1, 1])
        let ref = (0..<10).map { p in (0..<64).reduce(0.0) { $0 + Double(x.data[p * 64 + $1]) } / 64 }
        XCTAssertLessThan(relativeError(y.array, ref), 1e-6)
    }
}
