import Foundation

/// The one source of randomness of the trainer and the distortion module: SplitMix64 (Steele,
/// Lea & Flood 2014). Its whole state is one UInt64 (plus a spare normal), so a checkpoint stores
/// it exactly and a resumed run draws the same numbers as an uninterrupted one; a seed fixes
/// every synthetic distortion, data split and bootstrap resample.
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for a named sub-stream (e.g. one per parameter), independent of call order.
    /// With `index` (e.g. "distort", image 17) it is one of a family of streams, one per index,
    /// so results do not depend on the order in which images are processed. The two forms mix the
    /// seed differently (both kept so that existing seeds reproduce existing runs and fixtures).
    public init(seed: UInt64, stream: String, index: Int? = nil) {
        let h = FNV1a.of(stream)  // the name's hash, mixed with the seed
        if let index {
            state = seed ^ h ^ (UInt64(truncatingIfNeeded: index) &* 0x9e37_79b9_7f4a_7c15)
            _ = next(); _ = next()
        } else {
            state = seed ^ h
            _ = next()
        }
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Uniform integer in 0..<n.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "below(\(n))")
        return Int(next() % UInt64(n))
    }

    /// Uniform integer in the closed range.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// −1 or +1 with equal odds.
    public mutating func sign() -> Double { next() & 1 == 0 ? -1 : 1 }

    /// Standard normal by Box–Muller (both values of a pair are used, in order).
    public mutating func normal() -> Float {
        if let spare = spareNormal { spareNormal = nil; return spare }
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = Float(r * Foundation.sin(2 * Double.pi * u2))
        return Float(r * Foundation.cos(2 * Double.pi * u2))
    }

    /// Kept so the stream is the same whether a caller draws one normal at a time or many.
    public var spareNormal: Float?

    /// Fills `p[0..<n]` with standard normals.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count n: Int, std: Float = 1) {
        for i in 0..<n { p[i] = normal() * std }
    }
}
