import TestSupport
import TensorCore
import XCTest

/// The channels-last depthwise convolution (DiMR's ConvNeXt token mixer), forward and backward,
/// against Double loops written from its definition. Sizes cover channel counts that are not a
/// multiple of the eight lanes, images smaller than the kernel (every tap at a border) and K = 3.
/// Tolerance 1e-5 of the output scale (float32 sums of ≤ 49 · B·H·W products of values in −1...1).
/// Both builds of the C kernel run: AVX2 + FMA (when this CPU has them) and the baseline.
final class DepthwiseChannelsLastTests: XCTestCase {
    func testAgainstDoubleLoops() {
        forEachKernelBuild { build in checkAgainstDoubleLoops(label: " (\(build))") }
    }

    private func checkAgainstDoubleLoops(label build: String) {
        for (shape, k) in [([2, 9, 7, 13], 7), ([3, 3, 5, 8], 7), ([1, 6, 6, 20], 3), ([2, 4, 11, 1], 5)] {
            let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
            let x = randomTensor(shape, seed: 1), weight = randomTensor([c, 1, k, k], seed: 2)
            let bias = randomTensor([c], seed: 3), dy = randomTensor(shape, seed: 4)
            let at = { (t: Tensor, n: Int, i: Int, j: Int, ch: Int) -> Double in
                (0..<h).contains(i) && (0..<w).contains(j) ? Double(t.data[((n * h + i) * w + j) * c + ch]) : 0
            }
            var y = [Double](repeating: 0, count: x.count), dx = y
            var dw = [Double](repeating: 0, count: weight.count), db = [Double](repeating: 0, count: c)
            for n in 0..<b { for i in 0..<h { for j in 0..<w { for ch in 0..<c {
                let o = ((n * h + i) * w + j) * c + ch
                y[o] = Double(bias.data[ch]); db[ch] += Double(dy.data[o])
                for a in 0..<k { for e in 0..<k {
                    let tap = Double(weight.data[(ch * k + a) * k + e])
                    let (si, sj) = (i + a - k / 2, j + e - k / 2)
                    y[o] += at(x, n, si, sj, ch) * tap
                    dw[(ch * k + a) * k + e] += Double(dy.data[o]) * at(x, n, si, sj, ch)
                    if (0..<h).contains(si) && (0..<w).contains(sj) { dx[((n * h + si) * w + sj) * c + ch] += Double(dy.data[o]) * tap }
                } }
            } } } }
            let label = "x \(shape) k \(k)\(build)"
            assertClose(depthwiseConv2dChannelsLast(x, weight: weight, bias: bias), y, shape: shape, tolerance: 1e-5, "\(label) forward")
            let grads = depthwiseConv2dChannelsLastBackward(dy, input: x, weight: weight)
            assertClose(grads.input!, dx, shape: shape, tolerance: 1e-5, "\(label) dx")
            assertClose(grads.weight, dw, shape: [c, 1, k, k], tolerance: 1e-5, "\(label) dweight")
            assertClose(grads.bias, db, shape: [c], tolerance: 1e-5, "\(label) dbias")
            XCTAssertNil(depthwiseConv2dChannelsLastBackward(dy, input: x, weight: weight, needsInputGradient: false).input)
        }
    }

    /// The same numbers as the channels-first kernel it replaces in DiMR (conv2d, groups = C)
    /// on the permuted images.
    func testMatchesChannelsFirstConvolution() {
        let x = randomTensor([2, 8, 8, 24], seed: 5), weight = randomTensor([24, 1, 7, 7], seed: 6), bias = randomTensor([24], seed: 7)
        let planes = Tensor(uninitialized: [2, 24, 8, 8])
        for n in 0..<2 { for p in 0..<64 { for ch in 0..<24 { planes.data[(n * 24 + ch) * 64 + p] = x.data[(n * 64 + p) * 24 + ch] } } }
        let first = conv2d(planes, weight: weight, bias: bias, padding: .same(3, 3), groups: 24)
        let last = depthwiseConv2dChannelsLast(x, weight: weight, bias: bias)
        var worst: Float = 0
        for n in 0..<2 { for p in 0..<64 { for ch in 0..<24 {
            worst = max(worst, abs(first.data[(n * 24 + ch) * 64 + p] - last.data[(n * 64 + p) * 24 + ch]))
        } } }
        XCTAssertLessThan(worst, 1e-5)
    }
}
