import XCTest
import TestSupport
import TensorCore

/// LayerNorm / RMSNorm forwards and backwards against their formulas in double (tolerance 1e-5
/// of the values' scale), including per-group (per-sample) gains, in both builds of the C kernels;
/// finite differences of the backwards in DiMRTrainerTests.
final class NormalizationTests: XCTestCase {
    func testLayerNormWithGroupAffine() {
        let x = Tensor(shape: [2, 2, 4], values: (0..<16).map { Float($0 * $0 % 7) - 3 })
        let gamma = Tensor(shape: [2, 4], values: [1, 2, 3, 4, -1, -2, -3, -4]), beta = Tensor(shape: [2, 4], repeating: 0.5)
        let (y, _) = layerNorm(x, gamma: gamma, beta: beta, eps: 1e-5)
        for r in 0..<4 {
            let row = (0..<4).map { Double(x.data[r * 4 + $0]) }
            let mean = row.reduce(0, +) / 4, v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            for j in 0..<4 {
                let expected = (row[j] - mean) / (v + 1e-5).squareRoot() * Double(gamma.data[(r / 2) * 4 + j]) + 0.5
                XCTAssertEqual(Double(y.data[r * 4 + j]), expected, accuracy: 1e-5)
            }
        }
    }

    func testRMSNormOfficialEpsilonPlacement() {
        let x = Tensor(shape: [1, 4], values: [1, -2, 3, -4])
        let (y, _) = rmsNorm(x, gamma: nil, eps: 0.5)
        let rms = (30.0 / 4).squareRoot()
        for j in 0..<4 { XCTAssertEqual(Double(y.data[j]), Double(x.data[j]) / (rms + 0.5), accuracy: 1e-6) }
    }

    /// Forward and backward (dx, dgamma, dbeta) of both norms on rows of 37 values (a vector tail),
    /// three groups of two rows, against Double: in the AVX2 build and in the baseline one.
    func testBackwardsAgainstDouble() {
        forEachKernelBuild { build in checkBackwards(label: build) }
    }

    private func checkBackwards(label: String) {
        let (rows, c, groups) = (6, 37, 3)
        let x = randomTensor([rows, c], seed: 11), dy = randomTensor([rows, c], seed: 12)
        let gamma = randomTensor([groups, c], seed: 13), beta = randomTensor([groups, c], seed: 14)
        let value = { (t: Tensor, r: Int, j: Int) in Double(t.data[r * c + j]) }
        for rms in [false, true] {
            var y = [Double](repeating: 0, count: rows * c), dx = y
            var dg = [Double](repeating: 0, count: groups * c), db = dg
            for r in 0..<rows {
                let g = r / (rows / groups), row = (0..<c).map { value(x, r, $0) }
                let mean = rms ? 0 : row.reduce(0, +) / Double(c)
                let spread = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
                let s = rms ? 1 / (spread.squareRoot() + 1e-8) : 1 / (spread + 1e-5).squareRoot()
                let u = (0..<c).map { value(dy, r, $0) * value(gamma, g, $0) }
                let xhat = row.map { ($0 - mean) * s }
                for j in 0..<c {
                    y[r * c + j] = xhat[j] * value(gamma, g, j) + (rms ? 0 : value(beta, g, j))
                    dg[g * c + j] += value(dy, r, j) * xhat[j]
                    db[g * c + j] += value(dy, r, j)
                }
                let meanU = u.reduce(0, +) / Double(c), meanUX = zip(u, xhat).map(*).reduce(0, +) / Double(c)
                let dot = zip(u, row).map(*).reduce(0, +), norm = spread.squareRoot()
                for j in 0..<c {
                    dx[r * c + j] = rms ? s * u[j] - row[j] * dot * s * s / (Double(c) * norm)
                                        : s * (u[j] - meanU - xhat[j] * meanUX)
                }
            }
            let name = "\(rms ? "rmsNorm" : "layerNorm") (\(label))"
            if rms {
                let (out, cache) = rmsNorm(x, gamma: gamma)
                assertClose(out, y, shape: [rows, c], tolerance: 1e-5, "\(name) forward")
                let grads = rmsNormBackward(dy, input: x, gamma: gamma, cache: cache)
                assertClose(grads.input, dx, shape: [rows, c], tolerance: 1e-5, "\(name) dx")
                assertClose(grads.gamma!, dg, shape: [groups, c], tolerance: 1e-5, "\(name) dgamma")
            } else {
                let (out, cache) = layerNorm(x, gamma: gamma, beta: beta)
                assertClose(out, y, shape: [rows, c], tolerance: 1e-5, "\(name) forward")
                let grads = layerNormBackward(dy, input: x, gamma: gamma, hasBeta: true, cache: cache)
                assertClose(grads.input, dx, shape: [rows, c], tolerance: 1e-5, "\(name) dx")
                assertClose(grads.gamma!, dg, shape: [groups, c], tolerance: 1e-5, "\(name) dgamma")
                assertClose(grads.beta!, db, shape: [groups, c], tolerance: 1e-5, "\(name) dbeta")
            }
        }
    }
}
