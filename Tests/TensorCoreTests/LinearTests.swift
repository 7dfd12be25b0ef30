import XCTest
import TensorCore

/// linear, embedding and mseLoss forwards against direct loops in double (tolerance 1e-5
/// relative); their backwards are checked by finite differences in DiMRTrainerTests.
final class LinearTests: XCTestCase {
    func values(_ n: Int, _ seed: Int) -> [Float] { (0..<n).map { Float(sin(Double($0 * 7 + seed) * 0.37)) } }

    func testLinearMatchesLoops() {
        let x = Tensor(shape: [3, 5], values: values(15, 1)), w = Tensor(shape: [4, 5], values: values(20, 2))
        let b = Tensor(shape: [4], values: values(4, 3))
        let y = linear(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [3, 4])
        for i in 0..<3 { for j in 0..<4 {
            var s = Double(b.data[j]); for k in 0..<5 { s += Double(x.data[i * 5 + k]) * Double(w.data[j * 5 + k]) }
            XCTAssertEqual(Double(y.data[i * 4 + j]), s, accuracy: 1e-5)
        } }
        let g = linearBackward(Tensor(shape: [3, 4], repeating: 1), input: x, weight: w, hasBias: true)
        XCTAssertEqual(g.bias!.array, [3, 3, 3, 3])
    }

    func testEmbeddingAndLoss() {
        let table = Tensor(shape: [3, 2], values: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(embedding(table, indices: [2, 0, 2]).array, [4, 5, 0, 1, 4, 5])
        XCTAssertEqual(embeddingBackward(Tensor(shape: [3, 2], repeating: 1), indices: [2, 0, 2], vocabularySize: 3).array, [1, 1, 0, 0, 2, 2])
        XCTAssertEqual(mseLoss(Tensor(shape: [2], values: [1, 3]), Tensor(shape: [2], values: [0, 0])), 5)
    }
}
