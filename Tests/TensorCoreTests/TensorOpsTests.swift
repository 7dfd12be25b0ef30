import TensorCore
import XCTest

/// Batch norm, concat/split, pixel shuffle, bilinear resize and matmul against naive index loops.
final class TensorOpsTests: XCTestCase {
    /// (x − mean)/√(var + eps)·γ + β in Double; tolerance 1e-6 relative.
    func testBatchNormInferenceAndFolding() {
        let x = randomTensor([2, 4, 3, 5], seed: 1), mean = randomTensor([4], seed: 2)
        let variance = Tensor(shape: [4], values: randomTensor([4], seed: 3).array.map { abs($0) + 0.1 })
        let gamma = randomTensor([4], seed: 4), beta = randomTensor([4], seed: 5), eps: Float = 1e-3
        var ref = [Double]()
        for i in 0..<x.count {
            let c = i / 15 % 4
            ref.append((Double(x.data[i]) - Double(mean.data[c])) / (Double(variance.data[c]) + Double(eps)).squareRoot()
                       * Double(gamma.data[c]) + Double(beta.data[c]))
        }
        let y = batchNormInference(x, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
        assertClose(y, ref, shape: x.shape, tolerance: 1e-6, "batch norm")

        // folding into a conv gives bn(conv(x)) (tolerance 1e-5: the conv's own rounding)
        let w = randomTensor([4, 3, 3, 3], seed: 6), b = randomTensor([4], seed: 7), input = randomTensor([2, 3, 6, 6], seed: 8)
        let unfused = batchNormInference(conv2d(input, weight: w, bias: b), mean: mean, variance: variance, gamma: gamma,
                                         beta: beta, eps: eps)
        let folded = foldBatchNorm(weight: w, bias: b, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
        let fused = conv2d(input, weight: folded.weight, bias: folded.bias)
        assertClose(fused, unfused.array.map(Double.init), shape: unfused.shape, tolerance: 1e-5, "folded batch norm")
    }

    func testConcatAndSplitEveryAxis() {
        let a = randomTensor([2, 3, 4], seed: 1)
        for axis in 0..<3 {
            var bShape = a.shape; bShape[axis] = 1
            var cShape = a.shape; cShape[axis] = 2
            let b = randomTensor(bShape, seed: 2), c = randomTensor(cShape, seed: 3)
            let y = concat([a, b, c], axis: axis)
            var shape = a.shape; shape[axis] += 3
            XCTAssertEqual(y.shape, shape)
            // element by element: position along `axis` picks the source tensor
            for i in 0..<shape[0] { for j in 0..<shape[1] { for k in 0..<shape[2] {
                var idx = [i, j, k]
                let pos = idx[axis]
                let (src, local) = pos < a.shape[axis] ? (a, pos) : pos < a.shape[axis] + 1 ? (b, pos - a.shape[axis]) : (c, pos - a.shape[axis] - 1)
                idx[axis] = local
                let expected = src.data[(idx[0] * src.shape[1] + idx[1]) * src.shape[2] + idx[2]]
                XCTAssertEqual(y.data[(i * shape[1] + j) * shape[2] + k], expected, "axis \(axis) at \([i, j, k])")
            } } }
            let parts = split(y, sizes: [a.shape[axis], 1, 2], axis: axis)
            XCTAssertEqual(parts.map(\.array), [a.array, b.array, c.array], "split undoes concat on axis \(axis)")
        }
        XCTAssertEqual(concat([a, a], axis: -1).shape, [2, 3, 8])
    }

    /// y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]; the backward is the exact inverse.
    func testPixelShuffleAndBackward() {
        let r = 3, x = randomTensor([2, 18, 2, 4], seed: 9)
        let y = pixelShuffle(x, factor: r)
        XCTAssertEqual(y.shape, [2, 2, 6, 12])
        for n in 0..<2 { for c in 0..<2 { for h in 0..<2 { for w in 0..<4 { for i in 0..<r { for j in 0..<r {
            XCTAssertEqual(y.data[((n * 2 + c) * 6 + h * r + i) * 12 + w * r + j],
                           x.data[((n * 18 + c * r * r + i * r + j) * 2 + h) * 4 + w])
        } } } } } }
        // the shuffle is a permutation, so its backward routes every gradient back to where it came from
        XCTAssertEqual(pixelShuffleBackward(y, factor: r).array, x.array)
        XCTAssertEqual(pixelUnshuffle(y, factor: r).shape, x.shape)
    }

    /// Half-pixel bilinear, written out from the definition in Double; tolerance 1e-6 relative.
    func testBilinearResizeMatchesDefinition() {
        let x = randomTensor([1, 2, 5, 7], seed: 4)
        for (oh, ow, corners) in [(9, 11, false), (3, 2, false), (299, 299, false), (5, 7, false), (9, 4, true), (1, 1, true)] {
            func taps(_ o: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Double) {
                let src: Double
                if corners { src = outSize > 1 ? Double(o) * Double(inSize - 1) / Double(outSize - 1) : 0 }
                else { src = max((Double(o) + 0.5) * Double(inSize) / Double(outSize) - 0.5, 0) }
                let i0 = min(Int(src), inSize - 1)
                return (i0, min(i0 + 1, inSize - 1), src - Double(i0))
            }
            var ref = [Double]()
            for p in 0..<2 { for r in 0..<oh { for q in 0..<ow {
                let (r0, r1, a) = taps(r, 5, oh), (c0, c1, b) = taps(q, 7, ow)
                func v(_ i: Int, _ j: Int) -> Double { Double(x.data[(p * 5 + i) * 7 + j]) }
                ref.append((1 - a) * ((1 - b) * v(r0, c0) + b * v(r0, c1)) + a * ((1 - b) * v(r1, c0) + b * v(r1, c1)))
            } } }
            assertClose(resizeBilinear(x, height: oh, width: ow, alignCorners: corners), ref, shape: [1, 2, oh, ow],
                        tolerance: 1e-6, "resize to \(oh)x\(ow) corners \(corners)")
        }
        // same size without align_corners is the identity
        XCTAssertEqual(resizeBilinear(x, height: 5, width: 7).array, x.array)
    }

    /// op(a)·op(b) against a Double triple loop for all four transpose combinations; tolerance 1e-5.
    func testMatmulAllTransposes() {
        let (m, n, k) = (7, 5, 33)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [k, m] : [m, k], seed: 1), b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
            var ref = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { for p in 0..<k {
                ref[i * n + j] += Double(ta ? a.data[p * m + i] : a.data[i * k + p]) * Double(tb ? b.data[j * k + p] : b.data[p * n + j])
            } } }
            assertClose(matmul(a, b, transA: ta, transB: tb), ref, shape: [m, n], tolerance: 1e-5, "matmul ta \(ta) tb \(tb)")
        }
        XCTAssertEqual(matmul(Tensor(zeros: [3, 0]), Tensor(zeros: [0, 2])).array, [0, 0, 0, 0, 0, 0])
    }
}
