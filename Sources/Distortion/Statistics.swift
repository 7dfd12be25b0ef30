import Foundation
import TensorCore

/// The rank sum of `x` within the pooled sample x ∪ y (ranks 1-based, tied values sharing the
/// mean of the ranks they span) and Σ(t³ − t) over the groups of t tied values: the two sums
/// every rank-sum statistic below is built from.
func pooledRankSum(of x: [Double], with y: [Double]) -> (rankSum: Double, tieTerm: Double) {
    var all = x.map { ($0, true) } + y.map { ($0, false) }
    all.sort { $0.0 < $1.0 }
    var rankSum = 0.0, tieTerm = 0.0, i = 0
    while i < all.count {
        var j = i
        while j + 1 < all.count && all[j + 1].0 == all[i].0 { j += 1 }
        let averageRank = Double(i + j) / 2 + 1
        for k in i...j where all[k].1 { rankSum += averageRank }
        let t = Double(j - i + 1)
        tieTerm += t * t * t - t
        i = j + 1
    }
    return (rankSum, tieTerm)
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative (ties count half), by the Mann–Whitney rank sum.
public func areaUnderROC(positives: [Double], negatives: [Double]) -> Double {
    guard !positives.isEmpty, !negatives.isEmpty else { return .nan }
    let np = Double(positives.count), nn = Double(negatives.count)
    return (pooledRankSum(of: positives, with: negatives).rankSum - np * (np + 1) / 2) / (np * nn)
}

/// Two-sided Mann–Whitney U test of whether values of `x` tend to be larger or smaller than
/// values of `y`, as scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic',
/// use_continuity=True) computes it. It compares whole samples by rank, so it still orders two
/// sets of scores when a threshold flags (nearly) all of both.
/// - u: U of x, the number of pairs (xᵢ, yⱼ) with xᵢ > yⱼ, ties counting half (scipy's statistic).
/// - p: from the normal approximation, with the variance corrected for ties and a continuity
///   correction of ½; clipped to 1 as scipy does.
/// - superiority: U / (n₁n₂) = P(X > Y) + ½P(X = Y), the common-language effect size (the AUC of
///   x against y); 0.5 means neither sample tends to score higher.
/// When every value is tied there is no evidence of a difference: p = 1, superiority 0.5. One value
/// per sample is allowed (p = 1 then); empty samples and NaN are programming errors.
public func mannWhitneyUTest(_ x: [Double], _ y: [Double]) -> (u: Double, p: Double, superiority: Double) {
    precondition(!x.isEmpty && !y.isEmpty, "the Mann–Whitney test needs values in both samples (got \(x.count) and \(y.count))")
    precondition(!x.contains(where: \.isNaN) && !y.contains(where: \.isNaN), "the Mann–Whitney test got NaN scores")
    let n1 = Double(x.count), n2 = Double(y.count), n = n1 + n2
    let (rankSum, tieTerm) = pooledRankSum(of: x, with: y)
    let u1 = rankSum - n1 * (n1 + 1) / 2
    let superiority = u1 / (n1 * n2)
    // Variance of U under H₀, less what ties remove: n₁n₂/12 · ((n + 1) − Σ(t³ − t)/(n(n − 1))).
    // It is 0 exactly when all n values are tied (then U = n₁n₂/2 and nothing separates the samples).
    let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
    guard variance > 0 else { return (u1, 1, superiority) }
    // Two-sided: the upper tail of the larger of U₁ and U₂ = n₁n₂ − U₁, doubled; ½ is taken off for
    // continuity, so at U = n₁n₂/2 the doubled tail exceeds 1 and is clipped.
    let z = (max(u1, n1 * n2 - u1) - n1 * n2 / 2 - 0.5) / variance.squareRoot()
    return (u1, min(1, erfc(z / 2.0.squareRoot())), superiority)
}


/// A proportion with a bootstrap percentile interval.
public struct ProportionEstimate: Codable, Sendable, Equatable {
    public var rate: Double
    public var low: Double
    public var high: Double
    public var count: Int
    public var flagged: Int
    public var confidence: Double
    public var resamples: Int
}

/// Share of `flags` that are true, with a percentile bootstrap confidence interval: `resamples`
/// resamples of the samples with replacement, drawn from a seeded generator (same seed, same CI).
public func bootstrapProportion(_ flags: [Bool], resamples: Int = 1000, confidence: Double = 0.95,
                                seed: UInt64 = 0) -> ProportionEstimate {
    let n = flags.count
    precondition(n > 0, "a proportion of zero samples")
    let flagged = flags.filter { $0 }.count
    var rng = SplitMix64(seed: seed, stream: "bootstrap", index: 0)
    var rates = [Double](repeating: 0, count: resamples)
    flags.withUnsafeBufferPointer { f in
        for b in 0..<resamples {
            var hits = 0
            for _ in 0..<n where f[Int(rng.next() % UInt64(n))] { hits += 1 }
            rates[b] = Double(hits) / Double(n)
        }
    }
    rates.sort()
    let tail = (1 - confidence) / 2
    func quantile(_ q: Double) -> Double {
        guard !rates.isEmpty else { return Double(flagged) / Double(n) }
        let position = q * Double(rates.count - 1)
        let lo = Int(position.rounded(.down)), hi = min(lo + 1, rates.count - 1)
        return rates[lo] + (rates[hi] - rates[lo]) * (position - Double(lo))
    }
    return ProportionEstimate(rate: Double(flagged) / Double(n), low: quantile(tail), high: quantile(1 - tail),
                              count: n, flagged: flagged, confidence: confidence, resamples: resamples)
}

/// Two-sided two-proportion z-test with the pooled standard error:
/// z = (p₁ − p₂) / √(p̂(1−p̂)(1/n₁ + 1/n₂)), p = erfc(|z|/√2). When both proportions are 0 or
/// both are 1 there is no evidence of a difference: z = 0, p = 1.
public func twoProportionZTest(flagged1 k1: Int, count1 n1: Int, flagged2 k2: Int, count2 n2: Int) -> (z: Double, p: Double) {
    precondition(n1 > 0 && n2 > 0 && (0...n1).contains(k1) && (0...n2).contains(k2), "invalid proportions \(k1)/\(n1), \(k2)/\(n2)")
    let p1 = Double(k1) / Double(n1), p2 = Double(k2) / Double(n2)
    let pooled = Double(k1 + k2) / Double(n1 + n2)
    let se = (pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
    guard se > 0 else { return (0, 1) }
    let z = (p1 - p2) / se
    return (z, erfc(abs(z) / 2.0.squareRoot()))
}

/// Holm–Bonferroni adjusted p-values (same order as the input), for several pairwise tests at once.
public func holmAdjusted(_ pValues: [Double]) -> [Double] {
    let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
    var adjusted = [Double](repeating: 1, count: pValues.count)
    var running = 0.0
    for (rank, i) in order.enumerated() {
        running = max(running, min(1, Double(pValues.count - rank) * pValues[i]))
        adjusted[i] = running
    }
    return adjusted
}
