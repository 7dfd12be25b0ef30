import XCTest
import TestSupport
import TensorCore
import DiMRTrainer

/// AdamW against its definition (torch.optim.AdamW's update, written here in Double), with
/// gradient clipping, warm-up and the no-decay group, over three steps on parameters whose sizes
/// leave vector tails; in both builds of the C step (AVX2 + FMA when the CPU has them, baseline).
final class AdamWTests: XCTestCase {
    func testThreeStepsAgainstDouble() {
        forEachKernelBuild { _ in checkThreeSteps() }
    }

    private func checkThreeSteps() {
        var config = OptimizerConfig()
        config.learningRate = 0.01; config.warmupSteps = 2; config.weightDecay = 0.1; config.gradientClip = 0.5
        let store = ParameterStore(seed: 3)
        let a = store.make("a", [37], .normal(std: 1), decays: true), b = store.make("b", [5, 3], .normal(std: 1), decays: false)
        let optimizer = AdamW(config, parameters: store)
        var w = [a, b].map { $0.value.array.map(Double.init) }
        var m = w.map { [Double](repeating: 0, count: $0.count) }, v = m
        for step in 0..<3 {
            // gradients through the public tape: d/dp of weight·mean((p − target)²)
            let tape = Tape()
            let losses = [a, b].enumerated().map { index, p in
                let target = (0..<p.value.count).map { p.value.data[$0] - Float(sin(Double(7 * index + 3 * step + $0))) }
                return tape.mse(p, target: Tensor(shape: p.value.shape, values: target), weight: index == 0 ? 3 : 1)
            }
            tape.backward(from: tape.add(losses[0], losses[1]))
            let grads = [a, b].map { $0.grad!.array }
            let norm = grads.joined().map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            let clip = norm > 0.5 ? 0.5 / norm : 1
            let lr = 0.01 * min(1, Double(step + 1) / 2)
            let (b1, b2) = (0.9, 0.99)
            for index in 0..<2 {
                let decay = index == 0 ? 1 - lr * 0.1 : 1
                for i in 0..<w[index].count {
                    let g = Double(grads[index][i]) * clip
                    m[index][i] = b1 * m[index][i] + (1 - b1) * g
                    v[index][i] = b2 * v[index][i] + (1 - b2) * g * g
                    let mHat = m[index][i] / (1 - pow(b1, Double(step + 1))), vHat = v[index][i] / (1 - pow(b2, Double(step + 1)))
                    w[index][i] = w[index][i] * decay - lr * mHat / (vHat.squareRoot() + 1e-8)
                }
            }
            XCTAssertEqual(Double(optimizer.update(store)), norm, accuracy: 1e-6 * norm, "gradient norm at step \(step)")
            for p in [a, b] { p.zeroGrad() }
            for (index, p) in [a, b].enumerated() {
                let worst = zip(p.value.array, w[index]).map { abs(Double($0) - $1) }.max()!
                XCTAssertLessThan(worst, 1e-6, "parameter \(index) after step \(step)")
            }
        }
    }
}
