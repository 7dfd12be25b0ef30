import TensorCore

/// Kernel Inception Distance (Bińkowski et al. 2018) as clean-fid and StyleGAN3 compute it:
/// cubic polynomial kernel k(x, y) = (x·y/D + 1)³, unbiased MMD² on `subsets` random subsets of
/// m = min(N_samples, N_reference, subsetSize) from each side (without replacement), averaged.
/// Subsets are drawn from numpy's RandomState(seed) in the reference order (samples first), so
/// a seed reproduces the reference kit's value.
public struct KernelInceptionDistance: Codable, Sendable, Equatable {
    public var mean: Double
    /// Standard deviation over subsets (torch-fidelity reports it; clean-fid does not).
    public var std: Double
    public var subsets: Int
    public var subsetSize: Int
    public var seed: UInt32

    /// reference, samples: (N, D) features.
    public static func compute(reference: Tensor, samples: Tensor, subsets: Int = 100, subsetSize: Int = 1000,
                               seed: UInt32 = 0) throws -> KernelInceptionDistance {
        guard reference.rank == 2, samples.rank == 2, reference.shape[1] == samples.shape[1] else {
            throw MetricError("KID needs two feature sets of the same dimension, got \(reference.shape) and \(samples.shape)")
        }
        guard subsets > 0, subsetSize > 1 else {
            throw MetricError("KID needs at least 1 subset of at least 2 images (got \(subsets) subsets of \(subsetSize))")
        }
        let m = min(reference.shape[0], samples.shape[0], subsetSize)
        guard m >= 2 else { throw MetricError("KID needs at least 2 images on each side, got \(samples.shape[0]) samples and \(reference.shape[0]) reference") }
        try BLAS.ensureLoaded()
        let d = reference.shape[1]
        var random = NumpyRandomState(seed: seed)
        // Subsets gathered transposed, (D, m), so that XXᵀ is one syrk and XYᵀ one GEMM.
        let x = UnsafeMutablePointer<Double>.allocate(capacity: d * m)
        let y = UnsafeMutablePointer<Double>.allocate(capacity: d * m)
        let gram = UnsafeMutablePointer<Double>.allocate(capacity: m * m)
        defer { x.deallocate(); y.deallocate(); gram.deallocate() }
        func gather(_ source: Tensor, _ indices: [Int], into out: UnsafeMutablePointer<Double>) {
            for (c, i) in indices.enumerated() {
                let row = source.data + i * d
                for j in 0..<d { out[j * m + c] = Double(row[j]) }
            }
        }
        let scale = 1 / Double(d)
        func kernelSum(includeDiagonal: Bool) -> Double {
            var s = 0.0
            for i in 0..<(m * m) { let v = gram[i] * scale + 1; s += v * v * v }
            if !includeDiagonal { for i in 0..<m { let v = gram[i * m + i] * scale + 1; s -= v * v * v } }
            return s
        }
        var values: [Double] = []
        for _ in 0..<subsets {
            gather(samples, random.choiceWithoutReplacement(samples.shape[0], m), into: x)
            gather(reference, random.choiceWithoutReplacement(reference.shape[0], m), into: y)
            BLAS.dsyrkTransposed(n: m, k: d, a: x, lda: m, beta: 0, c: gram, ldc: m)
            let xx = kernelSum(includeDiagonal: false)
            BLAS.dsyrkTransposed(n: m, k: d, a: y, lda: m, beta: 0, c: gram, ldc: m)
            let yy = kernelSum(includeDiagonal: false)
            BLAS.dgemm(transA: true, m: m, n: m, k: d, a: x, lda: m, b: y, ldb: m, c: gram, ldc: m)
            let xy = kernelSum(includeDiagonal: true)
            let t = (xx + yy) / Double(m - 1) - xy * 2 / Double(m)
            values.append(t / Double(m))
        }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return KernelInceptionDistance(mean: mean, std: variance.squareRoot(), subsets: subsets, subsetSize: m, seed: seed)
    }
}
