import XCTest
import TensorCore
import DiMRTrainer

/// Central finite differences of L = Σ w ⊙ f(inputs) (w fixed random weights), against the
/// tape's gradients. Float32 forward passes with a step of 1e-2 give ~1e-3 relative agreement,
/// so the test tolerance is 2e-2 on the relative L2 error per input — a wrong backward (a missing
/// term, a transposed index) is off by O(1).
func checkGradients(_ name: String, inputs: [Variable], probes: Int = 12, step: Float = 1e-2, tolerance: Double = 2e-2,
                    seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line,
                    _ f: (Tape) -> Variable) {
    var rng = SplitMix64(seed: seed)
    let probe = f(Tape(recording: false)).value
    let weights = Tensor(uninitialized: probe.shape)
    rng.fillNormal(weights.data, count: weights.count)
    func loss() -> Double {
        let y = f(Tape(recording: false)).value
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(weights.data[i]) }
        return s
    }
    // Float32 rounding of L limits what finite differences can resolve: about |L|·2⁻²³/(2·step)
    // per probe. Gradients below that floor (e.g. the TD-LN mixing weights deep in a model) are
    // compared in absolute terms against 20× the floor instead of relatively.
    let floor = 20 * max(abs(loss()), 1) * 1.2e-7 / (2 * Double(step))
    let tape = Tape()
    let y = f(tape)
    for v in inputs { v.zeroGrad() }
    let lossVariable = weightedSum(y, weights, tape)
    tape.backward(from: lossVariable)
    for (k, v) in inputs.enumerated() {
        guard let g = v.grad else { XCTFail("\(name): input \(k) got no gradient", file: file, line: line); continue }
        var num = 0.0, den = 0.0
        let n = min(probes, v.value.count)
        for j in 0..<n {
            let i = n == v.value.count ? j : rng.below(v.value.count)
            let saved = v.value.data[i]
            v.value.data[i] = saved + step; let up = loss()
            v.value.data[i] = saved - step; let down = loss()
            v.value.data[i] = saved
            let numeric = (up - down) / (2 * Double(step))
            num += (numeric - Double(g.data[i])) * (numeric - Double(g.data[i]))
            den += numeric * numeric + Double(g.data[i]) * Double(g.data[i])
        }
        let rel = (num / max(den, 1e-12)).squareRoot()
        let absolute = (num / Double(n)).squareRoot()
        if absolute < floor { continue }
        XCTAssertLessThan(rel, tolerance, "\(name): input \(k) \(v.shape): relative gradient error \(rel) (rms error \(absolute), floor \(floor))", file: file, line: line)
    }
}

/// Σ w ⊙ y as a differentiable scalar, built from the two MSE terms the tape has:
/// mean((y + w/2)²) − mean((y − w/2)²) = 2·mean(y ⊙ w), exact (no approximation) in y.
func weightedSum(_ y: Variable, _ w: Tensor, _ tape: Tape) -> Variable {
    let n = Float(y.value.count)
    let plus = Tensor(uninitialized: w.shape), minus = Tensor(uninitialized: w.shape)
    for i in 0..<w.count { plus.data[i] = -w.data[i] / 2; minus.data[i] = w.data[i] / 2 }
    let a = tape.mse(y, target: plus.reshaped(y.shape), weight: n / 2)
    let b = tape.mse(y, target: minus.reshaped(y.shape), weight: -n / 2)
    return tape.sum([a, b])
}

func randomVariable(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = true) -> Variable {
    var rng = SplitMix64(seed: seed)
    let t = Tensor(uninitialized: shape)
    rng.fillNormal(t.data, count: t.count, std: scale)
    return Variable(t, requiresGrad: requiresGrad)
}
