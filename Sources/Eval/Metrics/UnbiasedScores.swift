import Foundation
import TensorCore

/// FID∞ and IS∞ (Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to
/// find them", CVPR 2020), and a bootstrap interval for FID.
///
/// FID computed from N samples is biased upwards by a term that, to first order, falls as 1/N
/// (and IS downwards), so two models scored at different N — or at the 64–256 samples of a
/// checkpoint scorer — are not comparable. The paper scores subsets of sizes N₁ < … < N_K = N,
/// fits the line score = a + b/Nᵢ by least squares and reports the intercept a, the value
/// extrapolated to 1/N → 0. As in the authors' code (github.com/mchong6/FID_IS_infinity,
/// `calculate_FID_infinity_path` / `calculate_IS_infinity_path`): the sizes are
/// `np.linspace(min, N, points).astype(int32)`, before each size the samples are shuffled in
/// place (`np.random.shuffle`, numpy's legacy RandomState — reproduced by `NumpyRandomState`, so
/// the same seed gives the same subsets) and the first Nᵢ are scored against the fixed reference
/// statistics; IS uses one split per subset. The reference side is never subsampled.
public enum UnbiasedScores {
    /// One extrapolation: the scores at each subset size and the fitted line.
    public struct Fit: Codable, Sendable, Equatable {
        /// The intercept: the score extrapolated to infinitely many samples.
        public var value: Double
        /// Slope b of score = value + b/N.
        public var slope: Double
        public var sizes: [Int]
        public var scores: [Double]
        public var seed: UInt32
    }

    /// A percentile bootstrap interval: the samples resampled with replacement `resamples` times
    /// (SplitMix64, stream "fid-bootstrap"), the reference held fixed.
    public struct Interval: Codable, Sendable, Equatable {
        public var low: Double
        public var high: Double
        public var confidence: Double
        public var resamples: Int
        public var seed: UInt64
    }

    /// `np.linspace(minimum, total, points).astype('int32')`, in numpy's float arithmetic.
    public static func subsetSizes(minimum: Int, total: Int, points: Int) -> [Int] {
        guard points > 1 else { return [total] }
        let step = Double(total - minimum) / Double(points - 1)
        return (0..<points).map { i in i == points - 1 ? total : Int(Double(i) * step + Double(minimum)) }
    }

    /// The smallest subset when none is given: the authors' 5,000, or half the samples when there
    /// are fewer than 10,000 (and at least 2). Below the feature dimension the 1/N law bends: on
    /// the embedded data at N = 256 (fixtures/fidinf/VALIDATION.md) subsets from a half, a fifth
    /// and a tenth of N put FID∞ 10.4, 16.4 and 21.9 above the 10,000-sample FID (FID itself: 24.9).
    public static func defaultMinimumSize(total: Int) -> Int { max(2, min(5000, total / 2)) }

    /// FID∞ of `samples` (N, D) against `reference`. minimumSize must be below N.
    public static func fidInfinity(samples: Tensor, reference: GaussianStatistics, minimumSize: Int? = nil,
                                   points: Int = 15, seed: UInt32 = 0) throws -> Fit {
        let frechet = try SubsetFrechetDistance(samples: samples, reference: reference)
        return try extrapolate(total: samples.shape[0], minimumSize: minimumSize, points: points, seed: seed) { rows in
            try frechet.distance(rows: rows)
        }
    }

    /// IS∞ of `samples` (N, 2048) pool3 features through `classifier` (classes, 2048), one split per subset.
    public static func inceptionScoreInfinity(samples: Tensor, classifier: Tensor, minimumSize: Int? = nil,
                                              points: Int = 15, seed: UInt32 = 0) throws -> Fit {
        let d = samples.shape[1]
        return try extrapolate(total: samples.shape[0], minimumSize: minimumSize, points: points, seed: seed) { rows in
            let subset = Tensor(uninitialized: [rows.count, d])
            for (r, i) in rows.enumerated() { (subset.data + r * d).update(from: samples.data + i * d, count: d) }
            return try InceptionScore.compute(pool: subset, classifier: classifier, splitSize: rows.count).mean
        }
    }

    /// Percentile bootstrap interval of FID: each resample draws N sample rows with replacement.
    public static func fidBootstrap(samples: Tensor, reference: GaussianStatistics, resamples: Int = 200,
                                    confidence: Double = 0.95, seed: UInt64 = 0,
                                    progress: ((Int) -> Void)? = nil) throws -> Interval {
        guard resamples >= 2, confidence > 0, confidence < 1 else {
            throw MetricError("a bootstrap interval needs at least 2 resamples and a confidence in (0, 1), got \(resamples) and \(confidence)")
        }
        let frechet = try SubsetFrechetDistance(samples: samples, reference: reference)
        let n = samples.shape[0]
        var rng = SplitMix64(seed: seed, stream: "fid-bootstrap", index: 0)
        var values: [Double] = []
        for _ in 0..<resamples {
            values.append(try frechet.distance(rows: (0..<n).map { _ in rng.below(n) }))
            progress?(1)
        }
        values.sort()
        let tail = (1 - confidence) / 2
        return Interval(low: interpolatedQuantile(sorted: values, tail), high: interpolatedQuantile(sorted: values, 1 - tail),
                        confidence: confidence, resamples: resamples, seed: seed)
    }

    /// Scores subsets of growing size (each after a fresh in-place shuffle) and fits the line.
    static func extrapolate(total n: Int, minimumSize: Int?, points: Int, seed: UInt32,
                            score: ([Int]) throws -> Double) throws -> Fit {
        let minimum = minimumSize ?? defaultMinimumSize(total: n)
        guard points >= 2 else { throw MetricError("the extrapolation needs at least 2 subset sizes, got \(points)") }
        guard minimum >= 2, minimum < n else {
            throw MetricError("the smallest subset must hold at least 2 samples and fewer than all \(n), got \(minimum)")
        }
        let sizes = subsetSizes(minimum: minimum, total: n, points: points)
        var random = NumpyRandomState(seed: seed)
        var order = Array(0..<n)
        var scores: [Double] = []
        for size in sizes {
            random.shuffle(&order)
            scores.append(try score(Array(order.prefix(size))))
        }
        let (intercept, slope) = leastSquaresLine(x: sizes.map { 1 / Double($0) }, y: scores)
        return Fit(value: intercept, slope: slope, sizes: sizes, scores: scores, seed: seed)
    }

    /// Ordinary least squares y ≈ a + b·x (what scikit-learn's LinearRegression fits).
    static func leastSquaresLine(x: [Double], y: [Double]) -> (intercept: Double, slope: Double) {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (xi, yi) in zip(x, y) { sxy += (xi - mx) * (yi - my); sxx += (xi - mx) * (xi - mx) }
        let slope = sxx > 0 ? sxy / sxx : 0
        return (my - slope * mx, slope)
    }
}

/// FID of any subset (rows may repeat) of one sample set against fixed reference statistics,
/// exact at every subset size. With Σ_r = R·Rᵀ (R = V·√w from one eigendecomposition, done once)
/// and X the centred subset (n×d), Σ_s·Σ_r has the eigenvalues of Rᵀ·Σ_s·R = YᵀY/(n−1) with
/// Y = X·R, and so of Y·Yᵀ/(n−1): each subset costs one n×d×d product and an eigen-solve of size
/// min(n, d) — milliseconds at a few hundred samples, where the d×d route would take a second.
final class SubsetFrechetDistance {
    private let samples: Tensor
    private let referenceMean: [Double]
    private let referenceTrace: Double
    private let root: [Double]   // R, d×d row-major
    private let d: Int

    init(samples: Tensor, reference: GaussianStatistics) throws {
        try reference.validate(source: "reference statistics")
        guard samples.rank == 2, samples.shape[1] == reference.dimension else {
            throw MetricError("FID of subsets needs sample features (N, \(reference.dimension)) to match the reference statistics, got \(samples.shape)")
        }
        try BLAS.ensureLoaded()
        let d = reference.dimension
        self.samples = samples; self.d = d
        referenceMean = reference.mean
        referenceTrace = (0..<d).reduce(0) { $0 + reference.covariance[$1 * d + $1] }
        var vectors = reference.covariance, values = [Double](repeating: 0, count: d)
        try vectors.withUnsafeMutableBufferPointer { v in
            try values.withUnsafeMutableBufferPointer { try BLAS.symmetricEigen(n: d, a: v.baseAddress!, w: $0.baseAddress!) }
        }
        let largest = values[d - 1]
        let scale = values.map { $0.clampedBelowRank(d, max: largest).squareRoot() }
        for i in 0..<d { for j in 0..<d { vectors[i * d + j] *= scale[j] } }
        root = vectors
    }

    func distance(rows: [Int]) throws -> Double {
        let n = rows.count
        guard n >= 2 else { throw MetricError("FID of a subset needs at least 2 samples, got \(n)") }
        var mean = [Double](repeating: 0, count: d)
        for i in rows {
            let source = samples.data + i * d
            for j in 0..<d { mean[j] += Double(source[j]) }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        var meanTerm = 0.0
        for j in 0..<d { let diff = mean[j] - referenceMean[j]; meanTerm += diff * diff }
        // Y = X·R block by block (X: centred rows), and the Gram matrix of Y on the smaller side,
        // scaled by 1/(n−1): Y·Yᵀ (n×n) when n ≤ d, else YᵀY (d×d) summed over blocks of rows.
        let small = min(n, d), block = n <= d ? n : 1024, alpha = 1 / Double(n - 1)
        var sampleTrace = 0.0
        var x = [Double](repeating: 0, count: block * d), y = [Double](repeating: 0, count: block * d)
        var gram = [Double](repeating: 0, count: small * small)
        var start = 0
        while start < n {
            let rowsHere = min(block, n - start)
            for r in 0..<rowsHere {
                let source = samples.data + rows[start + r] * d
                for j in 0..<d { let v = Double(source[j]) - mean[j]; x[r * d + j] = v; sampleTrace += v * v }
            }
            x.withUnsafeBufferPointer { xp in root.withUnsafeBufferPointer { rp in y.withUnsafeMutableBufferPointer { yp in
                BLAS.dgemm(m: rowsHere, n: d, k: d, a: xp.baseAddress!, lda: d, b: rp.baseAddress!, ldb: d, c: yp.baseAddress!, ldc: d)
            }}}
            y.withUnsafeBufferPointer { yp in gram.withUnsafeMutableBufferPointer { g in
                if n <= d {
                    BLAS.dgemm(transB: true, m: n, n: n, k: d, alpha: alpha, a: yp.baseAddress!, lda: d, b: yp.baseAddress!, ldb: d,
                               c: g.baseAddress!, ldc: n)
                } else {
                    BLAS.dsyrkTransposed(n: d, k: rowsHere, alpha: alpha, a: yp.baseAddress!, lda: d, beta: 1, c: g.baseAddress!, ldc: d)
                }
            }}
            start += rowsHere
        }
        sampleTrace /= Double(n - 1)
        var eigenvalues = [Double](repeating: 0, count: small)
        try gram.withUnsafeMutableBufferPointer { g in
            try eigenvalues.withUnsafeMutableBufferPointer { try BLAS.symmetricEigen(n: small, a: g.baseAddress!, w: $0.baseAddress!, vectors: false) }
        }
        let largest = eigenvalues[small - 1]
        let traceSqrt = eigenvalues.reduce(0) { $0 + $1.clampedBelowRank(small, max: largest).squareRoot() }
        return meanTerm + sampleTrace + referenceTrace - 2 * traceSqrt
    }
}
