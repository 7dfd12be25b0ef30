import TensorCore

/// Running float64 sums of feature vectors and of their outer products: the sufficient statistics
/// of a Gaussian fit. Sums add, so shards computed anywhere merge exactly (up to float64
/// addition order) — the merged mean and covariance equal those of one pass over all images.
public struct FeatureMoments: Sendable, Equatable {
    public let dimension: Int
    public private(set) var count: Int
    /// Σ x, (dimension)
    public private(set) var sum: [Double]
    /// Σ x xᵀ, (dimension, dimension) row-major, both triangles filled
    public private(set) var crossProducts: [Double]

    public init(dimension: Int) {
        precondition(dimension > 0, "FeatureMoments: dimension must be positive")
        self.dimension = dimension
        self.count = 0
        self.sum = [Double](repeating: 0, count: dimension)
        self.crossProducts = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Sums equivalent to `count` vectors with this mean and covariance (N−1 normalisation):
    /// Σx = n·μ, Σxxᵀ = (n−1)·Σ + n·μμᵀ. Lets stats files (which keep mu, sigma and count) merge.
    public init(count: Int, mean: [Double], covariance: [Double]) {
        let d = mean.count
        precondition(covariance.count == d * d, "FeatureMoments: covariance must be \(d)x\(d)")
        self.dimension = d
        self.count = count
        let n = Double(count)
        self.sum = mean.map { $0 * n }
        var cross = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d { cross[i * d + j] = (n - 1) * covariance[i * d + j] + n * mean[i] * mean[j] }
        }
        self.crossProducts = cross
    }

    /// Adds `rows` feature vectors. x: (rows, dimension) row-major float32.
    public mutating func add(_ x: UnsafePointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        let d = dimension
        let wide = UnsafeMutablePointer<Double>.allocate(capacity: rows * d)
        defer { wide.deallocate() }
        for i in 0..<(rows * d) { wide[i] = Double(x[i]) }
        sum.withUnsafeMutableBufferPointer { s in
            for r in 0..<rows { let row = wide + r * d; for j in 0..<d { s[j] += row[j] } }
        }
        crossProducts.withUnsafeMutableBufferPointer { c in
            BLAS.dsyrkTransposed(n: d, k: rows, a: wide, lda: d, beta: 1, c: c.baseAddress!, ldc: d)
        }
        count += rows
    }

    /// The moments of both sets together.
    public func merged(with other: FeatureMoments) throws -> FeatureMoments {
        guard other.dimension == dimension else {
            throw MetricError("cannot merge feature statistics of dimension \(dimension) with dimension \(other.dimension)")
        }
        var m = self
        m.count += other.count
        for i in 0..<dimension { m.sum[i] += other.sum[i] }
        m.crossProducts.withUnsafeMutableBufferPointer { c in
            other.crossProducts.withUnsafeBufferPointer { o in for i in 0..<c.count { c[i] += o[i] } }
        }
        return m
    }

    /// Mean and unbiased (N−1) covariance, as numpy's `mean(axis=0)` and `cov(rowvar=False)`.
    public func gaussian() throws -> GaussianStatistics {
        guard count >= 2 else {
            throw MetricError("a covariance needs at least 2 feature vectors, got \(count)")
        }
        let n = Double(count), d = dimension
        let mean = sum.map { $0 / n }
        var cov = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d { cov[i * d + j] = (crossProducts[i * d + j] - n * mean[i] * mean[j]) / (n - 1) }
        }
        return GaussianStatistics(mean: mean, covariance: cov, count: count)
    }
}

/// Streams feature rows into `FeatureMoments`, buffering small batches so that the float64
/// rank-k update (dsyrk) runs on a few hundred rows at a time rather than on each batch of 16.
public final class MomentAccumulator {
    public private(set) var moments: FeatureMoments
    private var pending: [Float] = []
    private let flushRows: Int

    public init(dimension: Int, flushRows: Int = 512) {
        moments = FeatureMoments(dimension: dimension)
        self.flushRows = flushRows
        pending.reserveCapacity(flushRows * dimension)
    }

    public var dimension: Int { moments.dimension }
    public var count: Int { moments.count + pending.count / moments.dimension }

    /// x: (rows, dimension) row-major. The float64 updates always cover rows [0, flushRows),
    /// [flushRows, 2·flushRows), …, whatever pieces the caller hands in, so features streamed from
    /// the network in batches of 16 and read back from a file (or the feature cache) in chunks of
    /// 1024 give bit-identical statistics.
    public func add(_ x: UnsafePointer<Float>, rows: Int) {
        var done = 0
        while done < rows {
            let take = min(flushRows - pending.count / dimension, rows - done)
            pending.append(contentsOf: UnsafeBufferPointer(start: x + done * dimension, count: take * dimension))
            done += take
            if pending.count == flushRows * dimension { flush() }
        }
    }

    public func add(_ x: [Float]) {
        precondition(x.count % dimension == 0, "MomentAccumulator: \(x.count) values is not a whole number of \(dimension)-d rows")
        x.withUnsafeBufferPointer { add($0.baseAddress!, rows: x.count / dimension) }
    }

    private func flush() {
        guard !pending.isEmpty else { return }
        pending.withUnsafeBufferPointer { moments.add($0.baseAddress!, rows: $0.count / moments.dimension) }
        pending.removeAll(keepingCapacity: true)
    }

    public func finish() -> FeatureMoments {
        flush()
        return moments
    }
}

/// Mean and covariance of a feature set: what FID compares. mean: (D), covariance: (D, D) row-major.
public struct GaussianStatistics: Sendable {
    public var mean: [Double]
    public var covariance: [Double]
    /// Number of vectors they were computed from, when known (ADM's reference files do not say).
    public var count: Int?

    public init(mean: [Double], covariance: [Double], count: Int? = nil) {
        self.mean = mean; self.covariance = covariance; self.count = count
    }

    public var dimension: Int { mean.count }

    /// Throws when the shapes disagree or a value is NaN/infinite; `source` names the origin.
    public func validate(source: String) throws {
        let d = mean.count
        guard d > 0 else { throw MetricError("\(source): mu is empty") }
        guard covariance.count == d * d else {
            throw MetricError("\(source): sigma has \(covariance.count) values, expected \(d)x\(d) to match mu of length \(d)")
        }
        if let i = mean.firstIndex(where: { !$0.isFinite }) {
            throw MetricError("\(source): mu[\(i)] is \(mean[i]); statistics must be finite")
        }
        if let i = covariance.firstIndex(where: { !$0.isFinite }) {
            throw MetricError("\(source): sigma[\(i / d), \(i % d)] is \(covariance[i]); statistics must be finite")
        }
    }
}
