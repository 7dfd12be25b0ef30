/// numpy's legacy `np.random.RandomState(seed)`: the MT19937 generator seeded with `init_genrand`,
/// `shuffle` and `choice(n, m, replace=False)` as numpy draws them (a Fisher–Yates shuffle of 0..<n driven by
/// masked rejection sampling, then the first m). Reproducing it lets KID pick the same subsets as
/// clean-fid / StyleGAN3 (and the anchors kit) for the same seed.
public struct NumpyRandomState {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }

    /// A uniform integer in 0...max (numpy's `random_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        for shift in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> shift }
        if max <= 0xFFFF_FFFF {
            while true { let v = UInt64(nextUInt32()) & mask; if v <= max { return v } }
        }
        while true {
            let v = ((UInt64(nextUInt32()) << 32) | UInt64(nextUInt32())) & mask
            if v <= max { return v }
        }
    }

    /// `choice(n, m, replace=False)`: the first m entries of a shuffled 0..<n.
    public mutating func choiceWithoutReplacement(_ n: Int, _ m: Int) -> [Int] {
        precondition(m <= n, "cannot choose \(m) of \(n) without replacement")
        var values = Array(0..<n)
        shuffle(&values)
        return Array(values.prefix(m))
    }

    /// `shuffle(x)` in place (rows of an array alike): Fisher–Yates from the last element down,
    /// each swap partner drawn by `interval`.
    public mutating func shuffle<T>(_ values: inout [T]) {
        var i = values.count - 1
        while i >= 1 {
            let j = Int(interval(UInt64(i)))
            values.swapAt(i, j)
            i -= 1
        }
    }
}
