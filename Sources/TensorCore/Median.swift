/// The middle value of `values` (the mean of the two middle ones for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "the median of no values")
    let v = values.sorted(), n = v.count
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
}
