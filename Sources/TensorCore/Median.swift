/// The middle value of `values` (the mean of the two middle ones for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "the median of no values")
    let v = values.sorted(), n = v.count
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
}

/// The q-quantile (0 ≤ q ≤ 1) of ascending `sorted` values, interpolating linearly between the
/// two nearest ranks (numpy's default `quantile` method).
public func interpolatedQuantile(sorted: [Double], _ q: Double) -> Double {
    precondition(!sorted.isEmpty, "a quantile of no values")
    let position = q * Double(sorted.count - 1)
    let lo = Int(position.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - Double(lo))
}
