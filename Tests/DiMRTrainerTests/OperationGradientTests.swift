import XCTest
import TensorCore
import DiMRTrainer

/// Every differentiable operation the models use, checked against finite differences
/// (tolerance and method in GradientCheck.swift).
final class OperationGradientTests: XCTestCase {
    func testLinear() {
        let x = randomVariable([2, 3, 5], seed: 1), w = randomVariable([4, 5], seed: 2), b = randomVariable([4], seed: 3)
        checkGradients("linear", inputs: [x, w, b]) { $0.linear(x, weight: w, bias: b) }
    }

    func testActivations() {
        let x = randomVariable([3, 8], seed: 4)
        checkGradients("gelu", inputs: [x]) { $0.gelu(x) }
        checkGradients("gelu tanh", inputs: [x]) { $0.gelu(x, kind: .tanh) }
        checkGradients("silu", inputs: [x]) { $0.silu(x) }
        checkGradients("gated GELU (GLU)", inputs: [x]) { $0.gatedGELU(x) }
    }

    func testNorms() {
        let x = randomVariable([4, 3, 6], seed: 5)
        let g = randomVariable([1, 6], seed: 6), b = randomVariable([1, 6], seed: 7)
        checkGradients("layerNorm", inputs: [x, g, b]) { $0.layerNorm(x, gamma: g, beta: b) }
        let gs = randomVariable([4, 6], seed: 8), bs = randomVariable([4, 6], seed: 9)
        checkGradients("layerNorm per-sample (adaLN/TD-LN)", inputs: [x, gs, bs]) { $0.layerNorm(x, gamma: gs, beta: bs) }
        checkGradients("layerNorm no affine", inputs: [x]) { $0.layerNorm(x, gamma: nil, beta: nil) }
        checkGradients("rmsNorm", inputs: [x, gs]) { $0.rmsNorm(x, gamma: gs) }
    }

    func testTimeDependentParameter() {
        let p0 = randomVariable([5], seed: 10), p1 = randomVariable([5], seed: 11)
        let w = randomVariable([5], seed: 12), b = randomVariable([5], seed: 13)
        checkGradients("time-dependent parameter", inputs: [p0, p1, w, b]) {
            $0.timeDependent(p0, p1, w, b, conditions: [-0.9, 0.1, 0.7])
        }
    }

    func testAttention() {
        let qkv = randomVariable([2, 5, 3 * 8], seed: 14)
        checkGradients("attention", inputs: [qkv], probes: 30) { $0.attention(qkv, heads: 2) }
    }

    func testEmbeddingAndShapes() {
        let table = randomVariable([6, 4], seed: 15)
        checkGradients("embedding", inputs: [table], probes: 24) { $0.embedding(table, indices: [1, 5, 1, 0]) }
        let a = randomVariable([2, 3, 4], seed: 16), b = randomVariable([2, 2, 4], seed: 17)
        checkGradients("concat", inputs: [a, b]) { $0.concat([a, b], axis: 1) }
        checkGradients("concat last axis", inputs: [a, a]) { $0.concat([a, a], axis: -1) }
        checkGradients("slice", inputs: [a]) { $0.slice(a, axis: 1, 1..<3) }
        checkGradients("permute", inputs: [a]) { $0.permute(a, [2, 0, 1]) }
        let pos = randomVariable([3, 4], seed: 18)
        checkGradients("addBroadcast", inputs: [a, pos]) { $0.addBroadcast(a, pos) }
        let s = randomVariable([2, 4], seed: 19)
        checkGradients("scaleGroups", inputs: [a, s]) { $0.scaleGroups(a, s) }
        checkGradients("add + affine", inputs: [a]) { $0.affine($0.add(a, a), scale: 0.5, shift: 1) }
    }

    /// `permuted` against element-by-element indexing (NHWC ↔ NCHW, 2-D and 3-axis rotations,
    /// middle swaps, the identity), on odd sizes.
    func testPermuteMatchesIndexing() {
        let cases: [([Int], [Int])] = [
            ([3, 5, 7, 37], [0, 3, 1, 2]), ([3, 37, 5, 7], [0, 2, 3, 1]), ([33, 70], [1, 0]),
            ([4, 6, 9], [2, 0, 1]), ([4, 6, 9], [1, 2, 0]),
            ([2, 3, 4, 5], [0, 2, 1, 3]), ([2, 3, 4, 5], [3, 1, 0, 2]), ([2, 3, 4], [0, 1, 2]),
        ]
        for (shape, dims) in cases {
            let x = randomVariable(shape, seed: 40).value
            let y = permuted(x, dims)
            XCTAssertEqual(y.shape, dims.map { shape[$0] })
            var inStrides = [Int](repeating: 1, count: shape.count)
            for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
            var mismatches = 0
            for flat in 0..<y.count {
                var rem = flat, source = 0
                for axis in stride(from: dims.count - 1, through: 0, by: -1) {
                    source += (rem % y.shape[axis]) * inStrides[dims[axis]]; rem /= y.shape[axis]
                }
                if y.data[flat] != x.data[source] { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "permute \(shape) by \(dims)")
        }
    }

    func testConvolutionsAndPixelShuffle() {
        let x = randomVariable([2, 3, 6, 6], seed: 20)
        let w = randomVariable([4, 3, 3, 3], seed: 21, scale: 0.3), b = randomVariable([4], seed: 22)
        checkGradients("conv 3x3 pad 1", inputs: [x, w, b]) { $0.conv2d(x, weight: w, bias: b, padding: 1) }
        let wp = randomVariable([4, 3, 2, 2], seed: 23)
        checkGradients("patchify conv (stride 2)", inputs: [x, wp]) { $0.conv2d(x, weight: wp, bias: nil, stride: 2) }
        let h = randomVariable([2, 4, 8, 8], seed: 24), dw = randomVariable([4, 1, 7, 7], seed: 25, scale: 0.2)
        let db = randomVariable([4], seed: 26)
        checkGradients("depthwise 7x7", inputs: [h, dw, db], probes: 20) { $0.conv2d(h, weight: dw, bias: db, padding: 3, groups: 4) }
        let hl = randomVariable([2, 8, 8, 4], seed: 28)
        checkGradients("depthwise 7x7 channels-last", inputs: [hl, dw, db], probes: 20) {
            $0.depthwiseConv2dChannelsLast(hl, weight: dw, bias: db)
        }
        let y = randomVariable([2, 8, 3, 3], seed: 27)
        checkGradients("pixel shuffle", inputs: [y]) { $0.pixelShuffle(y, factor: 2) }
    }

    func testMSE() {
        let p = randomVariable([2, 3, 4, 4], seed: 28)
        let t = randomVariable([2, 3, 4, 4], seed: 29, requiresGrad: false).value
        checkGradients("mse", inputs: [p]) { tape in tape.reshape(tape.mse(p, target: t, weight: 0.25), [1]) }
    }
}
