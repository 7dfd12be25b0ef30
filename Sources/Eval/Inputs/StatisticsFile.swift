import Foundation
import TensorCore
import TensorIO

/// An ADM-style statistics file: `mu` (d) and `sigma` (d×d) for pool3, `mu_s`/`sigma_s` for the
/// spatial features, float64, covariance normalised by N−1 — what ADM's reference batches and
/// `VIRTUAL_imagenet256_labeled.npz` hold, and what pytorch-fid's `--save-stats` writes (mu, sigma).
/// dimr-eval adds `count` (int64) and the float64 sums `sum`/`sum_s`, so that statistics of
/// shards merge exactly (`dimr-eval merge`), and `meta` (uint8 JSON: resize mode, weights and
/// their SHA-1); other tools ignore extra keys. `Layout.pytorchFID` writes `mu` and `sigma` only.
public struct StatisticsFile {
    public var pool: GaussianStatistics
    public var spatial: GaussianStatistics?
    /// How the features behind these statistics were made (from `meta`; nil for other tools' files).
    public var preprocessing: Preprocessing?

    /// Which keys `write` puts in the file.
    public enum Layout: String, CaseIterable, Sendable {
        /// mu, sigma, mu_s, sigma_s (ADM's evaluator reads these) + count, sum, sum_s, meta (dimr-eval's merge and checks).
        case adm
        /// mu and sigma only, float64: what pytorch-fid's `--save-stats` writes (no provenance can be recorded).
        case pytorchFID = "pytorch-fid"
    }

    public init(pool: GaussianStatistics, spatial: GaussianStatistics?) {
        self.pool = pool; self.spatial = spatial
    }

    public init(pool: FeatureMoments, spatial: FeatureMoments?) throws {
        self.pool = try pool.gaussian()
        self.spatial = try spatial?.gaussian()
        sums = (pool.sum, spatial?.sum)
    }

    /// Float64 Σx of the images, when this file was made by dimr-eval.
    public var sums: (pool: [Double]?, spatial: [Double]?) = (nil, nil)

    /// Whether `npz` looks like a statistics file (has mu and sigma).
    public static func isStatistics(_ npz: NpzFile) -> Bool { npz.contains("mu") && npz.contains("sigma") }

    public static func read(_ url: URL) throws -> StatisticsFile {
        let npz = try NpzFile(contentsOf: url)
        guard isStatistics(npz) else {
            throw FormatError(url, field: "mu, sigma", expected: "a statistics file with arrays mu (d) and sigma (d, d)",
                              found: npz.names.isEmpty ? "no arrays" : "arrays " + npz.names.joined(separator: ", "))
        }
        var count: Int?
        if npz.contains("count") {
            let c = try npz.array("count")
            guard c.elementCount == 1, let n = try? c.asInt64().first else {
                throw FormatError(url, field: "count", expected: "one integer", found: "\(c.dtype) \(c.shape)")
            }
            guard n >= 2 else {
                throw FormatError(url, field: "count", expected: "at least 2 images (a covariance needs 2)", found: "\(n)")
            }
            count = Int(n)
        }
        func gaussian(_ muKey: String, _ sigmaKey: String, _ sumKey: String) throws -> (GaussianStatistics, [Double]?) {
            let mu = try npz.array(muKey), sigma = try npz.array(sigmaKey)
            guard mu.shape.count == 1, mu.dtype.isFloatingPoint else {
                throw FormatError(url, field: muKey, expected: "a float vector (d,)", found: "\(mu.dtype) \(mu.shape)")
            }
            let d = mu.shape[0]
            guard d > 0 else { throw FormatError(url, field: muKey, expected: "a non-empty vector", found: "\(mu.dtype) \(mu.shape)") }
            guard sigma.shape == [d, d], sigma.dtype.isFloatingPoint else {
                throw FormatError(url, field: sigmaKey, expected: "a float matrix (\(d), \(d)) to match \(muKey)", found: "\(sigma.dtype) \(sigma.shape)")
            }
            let m = try mu.asDoubles(), s = try sigma.asDoubles()
            if let i = m.firstIndex(where: { !$0.isFinite }) {
                throw FormatError(url, field: "\(muKey)[\(i)]", expected: "a finite number", found: "\(m[i])")
            }
            if let i = s.firstIndex(where: { !$0.isFinite }) {
                throw FormatError(url, field: "\(sigmaKey)[\(i / d), \(i % d)]", expected: "a finite number", found: "\(s[i])")
            }
            try checkCovariance(s, dimension: d, dtype: sigma.dtype, url: url, field: sigmaKey)
            var sum: [Double]?
            if npz.contains(sumKey) {
                let a = try npz.array(sumKey)
                guard a.shape == [d] else { throw FormatError(url, field: sumKey, expected: "(\(d),)", found: "\(a.shape)") }
                sum = try a.asDoubles()
            }
            return (GaussianStatistics(mean: m, covariance: s, count: count), sum)
        }
        let (pool, poolSum) = try gaussian("mu", "sigma", "sum")
        var file = StatisticsFile(pool: pool, spatial: nil)
        file.preprocessing = Preprocessing(meta: (try? FeaturesFile.meta(npz)) ?? nil)
        file.sums.pool = poolSum
        if npz.contains("mu_s") && npz.contains("sigma_s") {
            let (spatial, spatialSum) = try gaussian("mu_s", "sigma_s", "sum_s")
            file.spatial = spatial
            file.sums.spatial = spatialSum
        }
        return file
    }

    /// A covariance must be symmetric and positive semi-definite up to the rounding of its stored
    /// type; otherwise FID is a number of nothing (scipy's sqrtm then returns complex parts that
    /// the tools drop). Tolerances, relative to the largest variance s = max Σᵢᵢ, with ε the
    /// stored type's machine epsilon: |Σᵢⱼ − Σⱼᵢ| ≤ max(1e-10, 16ε)·s, and the smallest eigenvalue
    /// λ ≥ −max(1e-9, 4dε)·s (float64: 1e-9·s, far above the 1e-13·s rounding of a computed
    /// covariance; float32 at d = 2048: 1e-3·s). Checked by one Cholesky factorisation of
    /// Σ + tol·I (~0.1 s at d = 2048); only when it fails are the eigenvalues computed, to name
    /// the worst one.
    static func checkCovariance(_ s: [Double], dimension d: Int, dtype: NpyDType, url: URL, field: String) throws {
        let epsilon: Double = dtype == .float64 ? Double.ulpOfOne : dtype == .float32 ? Double(Float.ulpOfOne) : 9.77e-4
        var scale = 0.0
        for i in 0..<d { scale = max(scale, s[i * d + i]) }
        let symmetryTolerance = max(1e-10, 16 * epsilon) * scale
        var worst = (0, 0, 0.0)
        for i in 0..<d { for j in (i + 1)..<d {
            let gap = abs(s[i * d + j] - s[j * d + i])
            if gap > worst.2 { worst = (i, j, gap) }
        } }
        if worst.2 > symmetryTolerance {
            let (i, j, gap) = worst
            throw FormatError(url, field: "\(field)[\(i), \(j)]",
                              expected: "a symmetric covariance (\(field)[i, j] = \(field)[j, i] within \(symmetryTolerance))",
                              found: "\(s[i * d + j]) but \(field)[\(j), \(i)] = \(s[j * d + i]) (difference \(gap))")
        }
        try BLAS.ensureLoaded()
        let tolerance = max(1e-9, 4 * Double(d) * epsilon) * scale
        let a = UnsafeMutablePointer<Double>.allocate(capacity: d * d)
        defer { a.deallocate() }
        s.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: d * d) }
        for i in 0..<d { a[i * d + i] += tolerance }
        if try BLAS.choleskySucceeds(n: d, a: a) { return }
        s.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: d * d) }
        let values = UnsafeMutablePointer<Double>.allocate(capacity: d)
        defer { values.deallocate() }
        try BLAS.symmetricEigen(n: d, a: a, w: values, vectors: false)
        guard values[0] < -tolerance else { return }
        throw FormatError(url, field: field,
                          expected: "a positive semi-definite covariance (eigenvalues ≥ −\(tolerance), the rounding of \(dtype))",
                          found: "smallest eigenvalue \(values[0]) (largest \(values[d - 1])): not a covariance matrix")
    }

    /// Writes the file atomically (np.savez layout, float64).
    public func write(to url: URL, layout: Layout = .adm) throws {
        var arrays: [(String, NpyArray)] = [
            ("mu", NpyArray(doubles: pool.mean, shape: [pool.dimension])),
            ("sigma", NpyArray(doubles: pool.covariance, shape: [pool.dimension, pool.dimension])),
        ]
        if layout == .pytorchFID { return try writeNpz(arrays, to: url) }
        if let spatial {
            arrays += [("mu_s", NpyArray(doubles: spatial.mean, shape: [spatial.dimension])),
                       ("sigma_s", NpyArray(doubles: spatial.covariance, shape: [spatial.dimension, spatial.dimension]))]
        }
        if let count = pool.count { arrays.append(("count", NpyArray(int64: [Int64(count)], shape: []))) }
        if let s = sums.pool { arrays.append(("sum", NpyArray(doubles: s, shape: [s.count]))) }
        if let s = sums.spatial { arrays.append(("sum_s", NpyArray(doubles: s, shape: [s.count]))) }
        var meta = preprocessing?.metaFields ?? [:]
        meta["tool"] = "dimr-eval statistics"
        if let count = pool.count { meta["count"] = count }
        if preprocessing == nil { meta["preprocessing"] = "unknown (made from files that record none)" }
        let data = try encodeJSONObject(meta)
        arrays.append(("meta", NpyArray(uint8: Array(data), shape: [data.count])))
        try writeNpz(arrays, to: url)
    }

    /// Moments for exact merging; needs the image count.
    public func moments(_ url: URL) throws -> (pool: FeatureMoments, spatial: FeatureMoments?) {
        guard let n = pool.count else {
            throw FormatError(url, field: "count", expected: "an image count (files from `dimr-eval stats` or `features` carry one) to merge exactly",
                              found: "none (statistics from another tool cannot be weighted)")
        }
        // Σx = n·μ and Σxxᵀ = (n−1)·Σ + n·μμᵀ reproduce the shard's float64 sums to the last bit or two.
        return (FeatureMoments(count: n, mean: pool.mean, covariance: pool.covariance),
                spatial.map { FeatureMoments(count: n, mean: $0.mean, covariance: $0.covariance) })
    }
}
