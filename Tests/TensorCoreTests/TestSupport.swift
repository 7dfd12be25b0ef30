import Foundation
import TensorCore
import XCTest

/// Deterministic uniform values in -1...1 (xorshift), so a failure reproduces.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    let t = Tensor(uninitialized: shape)
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    for i in 0..<t.count {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        t.data[i] = Float(s >> 40) / Float(1 << 23) - 1
    }
    return t
}

/// max |actual − expected| / max |expected| (the scale of the values, so near-zero entries do not blow up).
func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count, "compared \(actual.count) values with \(expected.count)")
    var err = 0.0, scale = 1e-30
    for (a, e) in zip(actual, expected) {
        if !a.isFinite { return .infinity }
        err = max(err, abs(Double(a) - e)); scale = max(scale, abs(e))
    }
    return err / scale
}

func assertClose(_ actual: Tensor, _ expected: [Double], shape: [Int], tolerance: Double, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, shape, "\(what): shape", file: file, line: line)
    guard actual.shape == shape else { return }
    let err = relativeError(actual.array, expected)
    XCTAssertLessThanOrEqual(err, tolerance, "\(what): relative error \(err) > \(tolerance)", file: file, line: line)
}

/// Straightforward 7-loop convolution in Double, the reference for `conv2d`.
/// x: (N,C,H,W), w: (O,C/g,KH,KW) → (N,O,OH,OW) flattened
func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), padding: Padding2D, groups: Int,
               relu: Bool = false) -> (shape: [Int], values: [Double]) {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let og = o / groups
    let oh = (h + padding.top + padding.bottom - kh) / stride.0 + 1
    let ow = (wd + padding.left + padding.right - kw) / stride.1 + 1
    var y = [Double](repeating: 0, count: n * o * oh * ow)
    for i in 0..<n { for oc in 0..<o { for r in 0..<oh { for q in 0..<ow {
        var s = Double(b?.data[oc] ?? 0)
        for ci in 0..<cg {
            let ch = oc / og * cg + ci
            for a in 0..<kh { for bb in 0..<kw {
                let ih = r * stride.0 - padding.top + a, iw = q * stride.1 - padding.left + bb
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                s += Double(x.data[((i * c + ch) * h + ih) * wd + iw]) * Double(w.data[((oc * cg + ci) * kh + a) * kw + bb])
            } }
        }
        y[((i * o + oc) * oh + r) * ow + q] = relu ? max(s, 0) : s
    } } } }
    return ([n, o, oh, ow], y)
}

/// The adjoint loops of `naiveConv`: gradients of Σ y·dy for input, weight and bias, in Double.
func naiveConvBackward(_ dy: Tensor, _ x: Tensor, _ w: Tensor, stride: (Int, Int), padding: Padding2D,
                       groups: Int) -> (dx: [Double], dw: [Double], db: [Double]) {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let (oh, ow) = (dy.shape[2], dy.shape[3]), og = o / groups
    var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
    var db = [Double](repeating: 0, count: o)
    for i in 0..<n { for oc in 0..<o { for r in 0..<oh { for q in 0..<ow {
        let g = Double(dy.data[((i * o + oc) * oh + r) * ow + q])
        db[oc] += g
        for ci in 0..<cg {
            let ch = oc / og * cg + ci
            for a in 0..<kh { for bb in 0..<kw {
                let ih = r * stride.0 - padding.top + a, iw = q * stride.1 - padding.left + bb
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                let xi = ((i * c + ch) * h + ih) * wd + iw, wi = ((oc * cg + ci) * kh + a) * kw + bb
                dx[xi] += g * Double(w.data[wi])
                dw[wi] += g * Double(x.data[xi])
            } }
        }
    } } } }
    return (dx, dw, db)
}
