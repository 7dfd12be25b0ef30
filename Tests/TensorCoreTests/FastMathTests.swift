import Foundation
import XCTest
import TestSupport
import TensorCore

/// The vectorised exp/sigmoid and GELU's C formulas against Double, over the range activations see, and
/// GELU/SiLU (forward and backward) against float64 formulas.
final class FastMathTests: XCTestCase {
    func testAgainstDouble() {
        var worst = (exp: 0.0, sigmoid: 0.0)
        var x = -20.0
        while x < 20 {
            let v = Lanes(repeating: Float(x)), xf = Double(Float(x))
            if xf < 80 { worst.exp = max(worst.exp, abs(Double(fastExp(v)[3]) - Foundation.exp(xf)) / Foundation.exp(xf)) }
            worst.sigmoid = max(worst.sigmoid, abs(Double(fastSigmoid(v)[5]) - 1 / (1 + Foundation.exp(-xf))))
            x += 0.000_37
        }
        XCTAssertLessThan(worst.exp, 3e-7)
        XCTAssertLessThan(worst.sigmoid, 2e-7)
        // no overflow to infinity or NaN at the ends
        for e in [-1e4, -88, 88, 1e4] as [Float] { XCTAssertTrue(fastExp(Lanes(repeating: e))[0].isFinite) }
    }

    /// GELU's erf and tanh (C, both builds) over the same dense sweep: x·Φ(x) and its tanh form
    /// within float32 rounding of the product, the saturated ends included.
    func testGeluFormulasOverTheWholeRange() {
        let sweep = stride(from: -20.0, to: 20.0, by: 0.000_37).map { Float($0) }
        let x = Tensor(uninitialized: [sweep.count])
        for (i, v) in sweep.enumerated() { x.data[i] = v }
        forEachKernelBuild { build in
            let exact = gelu(x), tanhForm = gelu(x, kind: .tanh)
            var worst = (exact: 0.0, tanh: 0.0)
            for i in 0..<sweep.count {
                let v = Double(sweep[i]), scale = max(1, abs(v))
                let wantExact = v * 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
                let wantTanh = 0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                worst.exact = max(worst.exact, abs(Double(exact.data[i]) - wantExact) / scale)
                worst.tanh = max(worst.tanh, abs(Double(tanhForm.data[i]) - wantTanh) / scale)
            }
            XCTAssertLessThan(worst.exact, 6e-7, "exact GELU (\(build))")
            XCTAssertLessThan(worst.tanh, 6e-7, "tanh GELU (\(build))")
        }
    }

    /// gelu/silu and their backwards on an odd-length tensor (a vector tail) against float64; GELU
    /// in both builds of its C kernel (AVX2 + FMA when this CPU has them, and the baseline loop).
    func testActivationsAgainstFloat64() {
        forEachKernelBuild { build in checkActivations(label: " (\(build))") }
    }

    private func checkActivations(label: String) {
        let n = 1003
        let x = Tensor(uninitialized: [n]), g = Tensor(uninitialized: [n])
        for i in 0..<n { x.data[i] = Float(i - n / 2) / 90; g.data[i] = Float((i * 7) % 13) / 6 - 1 }
        func check(_ name: String, _ got: Tensor, _ want: (Double, Double) -> Double, tolerance: Double) {
            for i in 0..<n {
                let w = want(Double(x.data[i]), Double(g.data[i]))
                XCTAssertEqual(Double(got.data[i]), w, accuracy: tolerance * max(1, abs(w)), "\(name)\(label) at x = \(x.data[i])")
            }
        }
        let phi = { (v: Double) in 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot())) }
        let tanhGelu = { (v: Double) in 0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))) }
        check("gelu", gelu(x), { v, _ in v * phi(v) }, tolerance: 1e-6)
        check("gelu tanh", gelu(x, kind: .tanh), { v, _ in tanhGelu(v) }, tolerance: 1e-6)
        check("gelu backward", geluBackward(g, input: x), { v, d in d * (phi(v) + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot()) },
              tolerance: 2e-6)
        check("gelu tanh backward", geluBackward(g, input: x, kind: .tanh), { v, d in d * (tanhGelu(v + 1e-6) - tanhGelu(v - 1e-6)) / 2e-6 },
              tolerance: 1e-5)
        let sig = { (v: Double) in 1 / (1 + Foundation.exp(-v)) }
        check("silu", silu(x), { v, _ in v * sig(v) }, tolerance: 1e-6)
        check("silu backward", siluBackward(g, input: x), { v, d in d * sig(v) * (1 + v * (1 - sig(v))) }, tolerance: 2e-6)

        // gated GELU over rows [a | b] with a = x, b = g (h = 1003, odd: a tail in every row)
        let ab = Tensor(uninitialized: [2, 2 * n]), dyGated = Tensor(uninitialized: [2, n])
        for r in 0..<2 { for i in 0..<n {
            ab.data[r * 2 * n + i] = x.data[i] * Float(r + 1); ab.data[r * 2 * n + n + i] = g.data[i]; dyGated.data[r * n + i] = g.data[(i + 5) % n]
        } }
        let y = gatedGELU(ab), dx = gatedGELUBackward(dyGated, input: ab)
        let geluPrime = { (v: Double) in phi(v) + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot() }
        var worst = 0.0
        for r in 0..<2 { for i in 0..<n {
            let a = Double(ab.data[r * 2 * n + i]), b = Double(ab.data[r * 2 * n + n + i]), d = Double(dyGated.data[r * n + i])
            worst = max(worst, abs(Double(y.data[r * n + i]) - a * phi(a) * b))
            worst = max(worst, abs(Double(dx.data[r * 2 * n + i]) - d * b * geluPrime(a)))
            worst = max(worst, abs(Double(dx.data[r * 2 * n + n + i]) - d * a * phi(a)) / max(1, abs(d * a * phi(a))))
        } }
        XCTAssertLessThan(worst, 1e-5, "gated GELU and its backward\(label)")
    }
}
