/// Rounds a float32 to the nearest float16 value (ties to even), returned as float32:
/// what a cast to `tf.float16` and back does. Overflow gives ±infinity, as on a GPU.
///
/// Written with bit operations because Swift's `Float16` conversion is a library call on
/// x86-64 without F16C, and the fp16 distance mode rounds every element of every distance tile.
@inline(__always)
public func roundedToHalf(_ x: Float) -> Float {
    let bits = x.bitPattern
    let sign = bits & 0x8000_0000
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude >= 0x477F_F000 {  // ≥ 65520 rounds past the largest half (65504); NaN stays NaN
        return magnitude > 0x7F80_0000 ? x : Float(bitPattern: sign | 0x7F80_0000)
    }
    if magnitude < 0x3880_0000 {  // below 2⁻¹⁴: half subnormals, a fixed quantum of 2⁻²⁴
        let a = Float(bitPattern: magnitude)
        let r = (a + 0.5) - 0.5     // 0.5 has an ulp of 2⁻²⁴, so the sum rounds a to that grid
        return Float(bitPattern: sign | r.bitPattern)
    }
    // Normal: keep 10 of the 23 mantissa bits, round to nearest even (a carry may bump the exponent).
    let rounded = (magnitude &+ 0xFFF &+ ((magnitude >> 13) & 1)) & ~UInt32(0x1FFF)
    return Float(bitPattern: sign | rounded)
}
