import XCTest
import TensorCore

/// LayerNorm / RMSNorm forwards against their formulas in double (tolerance 1e-5), including
/// per-group (per-sample) gains; backwards: finite differences in DiMRTrainerTests.
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
}
