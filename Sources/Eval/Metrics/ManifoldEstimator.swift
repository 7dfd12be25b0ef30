import TensorCore

/// Precision/recall of Kynkäänniemi et al. (2019) with the ADM evaluator's conventions, and
/// density/coverage of Naeem et al. (2020) with prdc's, from one set of blocked distance passes.
///
/// - Precision: fraction of samples inside the reference manifold; recall: fraction of reference
///   images inside the sample manifold. A manifold is the union of balls around its points with
///   radius = squared distance to the k-th nearest neighbour, the point itself counted as the
///   0-th (ADM's `ManifoldEstimator`, k = 3); a point is inside when d ≤ radius.
/// - Density: mean over samples of (number of reference balls containing it) / k′; coverage:
///   fraction of reference points whose ball holds at least one sample; k′ = 5 and strict d < r
///   (prdc's `compute_prdc`).
///
/// The cross distances between the two sets are computed once and feed all four numbers.
public struct ManifoldEstimator: Sendable {
    public var k: Int
    /// nil: skip density/coverage.
    public var densityK: Int?
    public var precision: DistancePrecision
    /// Tile edge of the blocked distance computation (memory: blockSize² floats).
    public var blockSize: Int

    public init(k: Int = 3, densityK: Int? = 5, precision: DistancePrecision = .fp32, blockSize: Int = 2048) {
        self.k = k; self.densityK = densityK; self.precision = precision; self.blockSize = blockSize
    }

    public struct Result: Codable, Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var density: Double?
        public var coverage: Double?
    }

    /// reference, samples: (N, D) float32 features (pool3 for the published metrics).
    public func evaluate(reference: Tensor, samples: Tensor, progress: ((Int) -> Void)? = nil) throws -> Result {
        try check(reference, "reference"); try check(samples, "samples")
        guard reference.shape[1] == samples.shape[1] else {
            throw MetricError("reference features have \(reference.shape[1]) dimensions but samples have \(samples.shape[1]); both must come from the same layer")
        }
        try BLAS.ensureLoaded()
        let refOperand = DistanceOperand(reference, precision: precision)
        let sampleOperand = DistanceOperand(samples, precision: precision)

        // Radii (squared k-th neighbour distances). In fp32 mode one pass over the reference
        // yields both k and k′; fp16 mode keeps density/coverage in float32 like prdc.
        let dk = densityK ?? 0
        let refK = precision == .fp32 ? max(k, dk) + 1 : k + 1
        let refTop = smallestSquaredDistances(refOperand, count: refK, blockSize: blockSize, progress: progress)
        let sampleTop = smallestSquaredDistances(sampleOperand, count: k + 1, blockSize: blockSize, progress: progress)
        let refRadii = (0..<reference.shape[0]).map { refTop[$0 * refK + k] }
        let sampleRadii = (0..<samples.shape[0]).map { sampleTop[$0 * (k + 1) + k] }

        var densityRadii: [Float]?
        var exactRef = refOperand, exactSamples = sampleOperand
        if densityK != nil {
            if precision == .fp32 {
                densityRadii = (0..<reference.shape[0]).map { refTop[$0 * refK + dk] }
            } else {
                exactRef = refOperand.exact!; exactSamples = sampleOperand.exact!
                let top = smallestSquaredDistances(exactRef, count: dk + 1, blockSize: blockSize, progress: progress)
                densityRadii = (0..<reference.shape[0]).map { top[$0 * (dk + 1) + dk] }
            }
        }

        var pass = CrossPass(reference: refOperand, samples: sampleOperand, blockSize: blockSize)
        pass.referenceRadii = refRadii
        pass.sampleRadii = sampleRadii
        if precision == .fp32 { pass.densityRadii = densityRadii }
        let counts = pass.run(progress: progress)
        var result = Result(precision: fraction(counts.samplesInReference), recall: fraction(counts.referenceInSamples))
        if let densityRadii, let dk = densityK {
            var dc = counts
            if precision != .fp32 {
                var exactPass = CrossPass(reference: exactRef, samples: exactSamples, blockSize: blockSize)
                exactPass.densityRadii = densityRadii
                dc = exactPass.run(progress: progress)
            }
            let total = dc.density.reduce(0) { $0 + Int($1) }
            result.density = Double(total) / Double(dk) / Double(samples.shape[0])
            result.coverage = fraction(dc.covered)
        }
        return result
    }

    /// Number of distance evaluations `evaluate` performs, for progress totals.
    public func work(referenceCount n: Int, sampleCount m: Int) -> Int {
        let half = { (x: Int) in (x * x + x * self.blockSize) / 2 }
        var w = half(n) + half(m) + n * m
        if precision == .fp16 && densityK != nil { w += half(n) + n * m }
        return w
    }

    private func check(_ x: Tensor, _ name: String) throws {
        guard x.rank == 2 else { throw MetricError("\(name) features must be (N, D), got shape \(x.shape)") }
        let needed = max(k, densityK ?? 0) + 1
        guard x.shape[0] >= needed else {
            throw MetricError("\(name): \(x.shape[0]) images, but k=\(max(k, densityK ?? 0)) nearest neighbours need at least \(needed)")
        }
        if let i = (0..<x.count).first(where: { !x.data[$0].isFinite }) {
            throw MetricError("\(name) features: value \(x.data[i]) at row \(i / x.shape[1]), column \(i % x.shape[1]); features must be finite")
        }
    }

    private func fraction(_ flags: [Bool]) -> Double {
        Double(flags.reduce(0) { $0 + ($1 ? 1 : 0) }) / Double(flags.count)
    }
}

/// One blocked pass over the reference × samples distances, answering every membership question.
private struct CrossPass {
    let reference: DistanceOperand
    let samples: DistanceOperand
    let blockSize: Int
    var referenceRadii: [Float]?   // ADM radius per reference point (d ≤ r)
    var sampleRadii: [Float]?      // ADM radius per sample
    var densityRadii: [Float]?     // prdc radius per reference point (d < r)

    init(reference: DistanceOperand, samples: DistanceOperand, blockSize: Int) {
        self.reference = reference; self.samples = samples; self.blockSize = blockSize
    }

    struct Counts {
        var samplesInReference: [Bool]   // precision
        var referenceInSamples: [Bool]   // recall
        var density: [Int32]             // reference balls holding each sample
        var covered: [Bool]              // reference ball holds a sample
    }

    func run(progress: ((Int) -> Void)?) -> Counts {
        let n = reference.rows, m = samples.rows
        var counts = Counts(samplesInReference: .init(repeating: false, count: m),
                            referenceInSamples: .init(repeating: false, count: n),
                            density: .init(repeating: 0, count: m), covered: .init(repeating: false, count: n))
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: blockSize * blockSize)
        defer { tile.deallocate() }
        let t = UncheckedSendable(tile), ld = blockSize
        let rr = referenceRadii ?? [], sr = sampleRadii ?? [], dr = densityRadii ?? []
        let doPR = referenceRadii != nil && sampleRadii != nil, doDC = densityRadii != nil
        counts.samplesInReference.withUnsafeMutableBufferPointer { prec in
        counts.referenceInSamples.withUnsafeMutableBufferPointer { rec in
        counts.density.withUnsafeMutableBufferPointer { dens in
        counts.covered.withUnsafeMutableBufferPointer { cov in
        rr.withUnsafeBufferPointer { rr in sr.withUnsafeBufferPointer { sr in dr.withUnsafeBufferPointer { dr in
            let prec = UncheckedSendable(prec.baseAddress!), rec = UncheckedSendable(rec.baseAddress!)
            let dens = UncheckedSendable(dens.baseAddress!), cov = UncheckedSendable(cov.baseAddress!)
            let rr = UncheckedSendable(rr.baseAddress), sr = UncheckedSendable(sr.baseAddress), dr = UncheckedSendable(dr.baseAddress)
            for i0 in stride(from: 0, to: n, by: blockSize) {
                let rows = i0..<min(i0 + blockSize, n)
                for j0 in stride(from: 0, to: m, by: blockSize) {
                    let cols = j0..<min(j0 + blockSize, m)
                    squaredDistanceTile(reference, rows, samples, cols, into: tile, ld: ld)
                    // Per reference point (rows): recall and coverage.
                    parallelChunks(rows.count, minChunk: 16) { range in
                        for r in range {
                            let i = rows.lowerBound + r, row = t.value + r * ld
                            if doPR && !rec.value[i] {
                                let s = sr.value! + cols.lowerBound
                                for c in 0..<cols.count where row[c] <= s[c] { rec.value[i] = true; break }
                            }
                            if doDC && !cov.value[i] {
                                let radius = dr.value![i]
                                for c in 0..<cols.count where row[c] < radius { cov.value[i] = true; break }
                            }
                        }
                    }
                    // Per sample (columns): precision and density.
                    parallelChunks(cols.count, minChunk: 64) { range in
                        for r in 0..<rows.count {
                            let i = rows.lowerBound + r, row = t.value + r * ld
                            for c in range {
                                let v = row[c], j = cols.lowerBound + c
                                if doPR && v <= rr.value![i] { prec.value[j] = true }
                                if doDC && v < dr.value![i] { dens.value[j] += 1 }
                            }
                        }
                    }
                    progress?(rows.count * cols.count)
                }
            }
        }}}}}}}
        return counts
    }
}
