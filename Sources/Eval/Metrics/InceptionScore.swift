import Foundation
import TensorCore

/// Inception Score as the ADM evaluator computes it: class probabilities softmax(pool3 · Wᵀ)
/// from the 1008-way Inception classifier *without* its bias, split into consecutive groups,
/// exp(E_x KL(p(y|x) ‖ p(y))) per group, then the mean (and std) over groups.
public struct InceptionScore: Codable, Sendable, Equatable {
    public var mean: Double
    public var std: Double
    public var splits: Int
    public var splitSize: Int

    /// Splits of `splitSize` consecutive rows; the last is shorter when N is not a multiple (numpy's
    /// `range(0, N, size)`). nil: N/10 rows, ten splits — ADM's 5000 at 50k. ADM fixes 5000 at any N.
    public static func compute(pool: Tensor, classifier: Tensor, splitSize: Int? = nil,
                               defaultSplits: Int = 10) throws -> InceptionScore {
        guard pool.rank == 2, classifier.rank == 2 else {
            throw MetricError("Inception Score needs pool features (N, D) and a classifier (classes, D); got \(pool.shape) and \(classifier.shape)")
        }
        let n = pool.shape[0], d = pool.shape[1], classes = classifier.shape[0]
        guard classifier.shape[1] == d else {
            throw MetricError("the classifier takes \(classifier.shape[1])-d inputs but the features are \(d)-d (Inception Score needs pool3 features)")
        }
        guard n > 0 else { throw MetricError("Inception Score of zero images") }
        let size = splitSize ?? (n >= defaultSplits ? n / defaultSplits : n)
        guard size > 0 else { throw MetricError("--is-split-size must be positive, got \(size)") }
        try BLAS.ensureLoaded()
        // float64 throughout: the reference computes in float64, and IS differences between
        // models are often in the third digit.
        var weight = [Double](repeating: 0, count: classes * d)
        for i in 0..<(classes * d) { weight[i] = Double(classifier.data[i]) }

        var scores: [Double] = []
        for start in stride(from: 0, to: n, by: size) {
            let rows = min(size, n - start)
            var x = [Double](repeating: 0, count: rows * d)
            for i in 0..<(rows * d) { x[i] = Double(pool.data[start * d + i]) }
            var logits = [Double](repeating: 0, count: rows * classes)
            x.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in logits.withUnsafeMutableBufferPointer { lp in
                BLAS.dgemm(transB: true, m: rows, n: classes, k: d, a: xp.baseAddress!, lda: d,
                           b: wp.baseAddress!, ldb: d, c: lp.baseAddress!, ldc: classes)
            }}}
            // log p(y|x) by log-softmax; p(y) is the split's mean of p(y|x).
            var marginal = [Double](repeating: 0, count: classes)
            for r in 0..<rows {
                let row = r * classes
                var top = -Double.infinity
                for c in 0..<classes { top = max(top, logits[row + c]) }
                var total = 0.0
                for c in 0..<classes { total += exp(logits[row + c] - top) }
                let logTotal = log(total) + top
                for c in 0..<classes {
                    logits[row + c] -= logTotal
                    marginal[c] += exp(logits[row + c])
                }
            }
            let logMarginal = marginal.map { log($0 / Double(rows)) }
            var kl = 0.0
            for r in 0..<rows {
                var s = 0.0
                for c in 0..<classes {
                    let lp = logits[r * classes + c]
                    s += exp(lp) * (lp - logMarginal[c])
                }
                kl += s
            }
            scores.append(exp(kl / Double(rows)))
        }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count)
        return InceptionScore(mean: mean, std: variance.squareRoot(), splits: scores.count, splitSize: size)
    }
}
