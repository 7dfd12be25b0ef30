import Foundation
import TensorCore

/// Per-feature standardisation (x − mean) / scale, fitted on the training rows. Constant features
/// get scale 1 so they pass through as zeros.
public struct Standardizer: Sendable {
    public var mean: [Float]
    public var scale: [Float]

    public init(mean: [Float], scale: [Float]) { self.mean = mean; self.scale = scale }

    /// x: (rows, columns) row-major.
    public init(fitting x: [Float], rows: Int, columns: Int) {
        var mean = [Double](repeating: 0, count: columns), squares = mean
        for i in 0..<rows { for j in 0..<columns { let v = Double(x[i * columns + j]); mean[j] += v; squares[j] += v * v } }
        self.mean = mean.map { Float($0 / Double(rows)) }
        scale = (0..<columns).map { j in
            let m = mean[j] / Double(rows)
            let sd = max(squares[j] / Double(rows) - m * m, 0).squareRoot()
            return sd > 1e-8 * max(abs(m), 1) ? Float(sd) : 1
        }
    }

    public func apply(_ x: [Float]) -> [Float] {
        let d = mean.count
        var out = x
        for i in 0..<(x.count / d) { for j in 0..<d { out[i * d + j] = (x[i * d + j] - mean[j]) / scale[j] } }
        return out
    }
}

/// p(distorted | x) = σ(w·x + b), fitted by full-batch Adam on the weighted cross-entropy with an
/// L2 penalty (λ/2)‖w‖². Weighted so that the clean and distorted classes count equally however
/// many of each there are. Matrix products go through BLAS.
public struct LogisticRegression: Sendable {
    public var weights: [Float]
    public var bias: Float

    public init(weights: [Float], bias: Float) { self.weights = weights; self.bias = bias }

    /// x: (rows, weights.count) standardised features → probabilities (rows).
    public func probabilities(_ x: [Float], rows: Int) -> [Double] {
        logits(x, rows: rows).map { 1 / (1 + exp(-Double($0))) }
    }

    public func logits(_ x: [Float], rows: Int) -> [Float] {
        let d = weights.count
        precondition(x.count == rows * d, "features (\(x.count) values) are not \(rows)×\(d)")
        var z = [Float](repeating: bias, count: rows)
        guard rows > 0 else { return z }
        x.withUnsafeBufferPointer { xp in
            weights.withUnsafeBufferPointer { wp in
                z.withUnsafeMutableBufferPointer { zp in
                    BLAS.sgemm(m: rows, n: 1, k: d, a: xp.baseAddress!, lda: d, b: wp.baseAddress!, ldb: 1,
                               beta: 1, c: zp.baseAddress!, ldc: 1)
                }
            }
        }
        return z
    }

    /// Fits the model. x: (rows, columns) standardised; labels 0 (clean) or 1 (distorted);
    /// `sampleWeights` multiply each row's loss (default 1). Returns the model and the loss per
    /// iteration (the training curve).
    public static func fit(x: [Float], rows: Int, columns d: Int, labels: [Float], sampleWeights: [Float]? = nil,
                           l2: Float, iterations: Int = 400, learningRate: Float = 0.05) -> (model: LogisticRegression, loss: [Float]) {
        precondition(labels.count == rows && x.count == rows * d, "fit: \(rows) rows, \(labels.count) labels, \(x.count) values")
        // Balance the classes: each class carries half of the total weight.
        var weights = sampleWeights ?? [Float](repeating: 1, count: rows)
        let positive = zip(weights, labels).filter { $0.1 > 0.5 }.map(\.0).reduce(0, +)
        let negative = zip(weights, labels).filter { $0.1 <= 0.5 }.map(\.0).reduce(0, +)
        for i in 0..<rows { weights[i] *= labels[i] > 0.5 ? (positive > 0 ? 0.5 / positive : 0) : (negative > 0 ? 0.5 / negative : 0) }

        var model = LogisticRegression(weights: [Float](repeating: 0, count: d), bias: 0)
        var m = [Float](repeating: 0, count: d + 1), v = m, gradient = m
        var residual = [Float](repeating: 0, count: rows)
        var curve: [Float] = []
        let (beta1, beta2): (Float, Float) = (0.9, 0.999)
        for step in 1...max(iterations, 1) {
            let z = model.logits(x, rows: rows)
            var loss: Double = 0
            for i in 0..<rows {
                let p = 1 / (1 + exp(-z[i]))
                residual[i] = weights[i] * (p - labels[i])
                // log(1 + e^z) − y·z, computed stably
                let softplus = z[i] > 0 ? z[i] + log1p(exp(-z[i])) : log1p(exp(z[i]))
                loss += Double(weights[i] * (softplus - labels[i] * z[i]))
            }
            let norm = model.weights.reduce(0) { $0 + $1 * $1 }
            curve.append(Float(loss) + 0.5 * l2 * norm)
            // gradient = Xᵀ·residual + λw, bias gradient = Σ residual
            x.withUnsafeBufferPointer { xp in
                residual.withUnsafeBufferPointer { rp in
                    gradient.withUnsafeMutableBufferPointer { gp in
                        BLAS.sgemm(transA: true, m: d, n: 1, k: rows, a: xp.baseAddress!, lda: d, b: rp.baseAddress!, ldb: 1,
                                   c: gp.baseAddress!, ldc: 1)
                    }
                }
            }
            for j in 0..<d { gradient[j] += l2 * model.weights[j] }
            gradient[d] = residual.reduce(0, +)
            // Adam with a cosine-decayed step, so the last iterations settle instead of oscillating.
            let rate = learningRate * 0.5 * (1 + cos(Float.pi * Float(step - 1) / Float(max(iterations, 1))))
            let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
            for j in 0...d {
                m[j] = beta1 * m[j] + (1 - beta1) * gradient[j]
                v[j] = beta2 * v[j] + (1 - beta2) * gradient[j] * gradient[j]
                let update = rate * (m[j] / c1) / ((v[j] / c2).squareRoot() + 1e-8)
                if j < d { model.weights[j] -= update } else { model.bias -= update }
            }
        }
        return (model, curve)
    }
}
