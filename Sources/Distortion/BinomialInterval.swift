import Foundation

/// P(X ≤ k) for X ~ Binomial(n, p). Terms are summed from their logarithms (lgamma), so references
/// of thousands of images neither overflow nor underflow.
public func binomialCDF(_ k: Int, trials n: Int, probability p: Double) -> Double {
    precondition(n >= 0 && (0...1).contains(p), "binomial with n = \(n), p = \(p)")
    if k < 0 { return 0 }
    if k >= n { return 1 }
    if p == 0 { return 1 }
    if p == 1 { return 0 }
    let logChoose = { (i: Int) in lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) }
    var sum = 0.0
    for i in 0...k { sum += exp(logChoose(i) + Double(i) * log(p) + Double(n - i) * log1p(-p)) }
    return min(sum, 1)
}

/// The Clopper–Pearson ("exact") interval for a proportion of `k` successes in `n` trials: the
/// p whose one-sided tail at k is (1 − confidence)/2 on each side. It never undercovers, which is
/// what a false-positive rate read as a promise needs (a normal interval at 0 of n is [0, 0]).
/// Solved by bisection on the binomial CDF (monotone in p), to 1e-12.
public func clopperPearsonInterval(successes k: Int, trials n: Int, confidence: Double = 0.95) -> (low: Double, high: Double) {
    precondition(n > 0 && (0...n).contains(k), "Clopper–Pearson interval of \(k) in \(n)")
    let tail = (1 - confidence) / 2
    func solve(_ tooSmall: (Double) -> Bool) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<60 { let mid = (lo + hi) / 2; if tooSmall(mid) { lo = mid } else { hi = mid } }
        return (lo + hi) / 2
    }
    // Lower end: P(X ≥ k | p) = tail; upper end: P(X ≤ k | p) = tail.
    let low = k == 0 ? 0 : solve { 1 - binomialCDF(k - 1, trials: n, probability: $0) < tail }
    let high = k == n ? 1 : solve { binomialCDF(k, trials: n, probability: $0) > tail }
    return (low, high)
}

/// The central range of counts a Binomial(n, p) falls in with probability at least `confidence`:
/// from the (1 − c)/2 quantile to the (1 + c)/2 quantile (quantile = smallest k with CDF ≥ q).
/// A calibrated 5% threshold applied to n unseen clean images flags a count in this range 95% of
/// the time (when the threshold's own calibration error is small next to n's sampling error).
public func binomialRange(trials n: Int, probability p: Double, confidence: Double = 0.95) -> ClosedRange<Int> {
    let tail = (1 - confidence) / 2
    func quantile(_ q: Double) -> Int {
        var k = 0
        while k < n && binomialCDF(k, trials: n, probability: p) < q { k += 1 }
        return k
    }
    return quantile(tail)...quantile(1 - tail)
}

/// The central range of the count flagged among m unseen clean images by a split-conformal
/// threshold calibrated on n clean images at level α, with probability at least `confidence` over
/// both the calibration images and the unseen ones. The threshold is the r-th smallest calibration
/// score, r = ⌈(n + 1)(1 − α)⌉, so the chance that a new clean image lies above it is
/// Beta(n + 1 − r, r) distributed, and the count is BetaBinomial(m, n + 1 − r, r) (Vovk 2012;
/// Angelopoulos & Bates 2021, §3.2). It is wider than `binomialRange(m, α)`, which ignores the
/// calibration images' own sampling error: at n = 128, m = 256, α = 5% it is 3…25 against 6…20,
/// and a perfect conformal threshold falls inside 6…20 only 80% of the time (95% at n = 1,024).
public func conformalFlaggedRange(calibrationCount n: Int, heldOut m: Int, falsePositiveRate alpha: Double,
                                  confidence: Double = 0.95) -> ClosedRange<Int> {
    let r = Int((Double(n + 1) * (1 - alpha)).rounded(.up))
    precondition(r <= n, "\(n) calibration images cannot certify α = \(alpha)")
    let a = Double(n + 1 - r), b = Double(r)
    func logBeta(_ x: Double, _ y: Double) -> Double { lgamma(x) + lgamma(y) - lgamma(x + y) }
    let pmf = (0...m).map { (k: Int) -> Double in
        let logChoose: Double = lgamma(Double(m + 1)) - lgamma(Double(k + 1)) - lgamma(Double(m - k + 1))
        return exp(logChoose + logBeta(Double(k) + a, Double(m - k) + b) - logBeta(a, b))
    }
    let tail = (1 - confidence) / 2
    var cumulative = 0.0, low = m, high = m
    for k in 0...m {
        cumulative += pmf[k]
        if cumulative >= tail && low == m { low = k }
        if cumulative >= 1 - tail { high = k; break }
    }
    return low...high
}
