import Foundation

/// The trainer's only source of randomness: SplitMix64 (Steele, Lea & Flood 2014). Its whole
/// state is one UInt64, so a checkpoint stores it exactly and a resumed run draws the same
/// numbers as an uninterrupted one.
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for a named sub-stream (e.g. one per parameter), independent of call order.
    public init(seed: UInt64, stream: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the name, mixed with the seed
        for byte in stream.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        state = seed ^ h
        _ = next()
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

    /// Uniform integer in 0..<n.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

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
