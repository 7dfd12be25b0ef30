/// The element types dimr-eval reads from and writes to `.npy` files, with numpy's type strings.
public enum NpyDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool, int8, uint8, int16, int32, int64, float16, float32, float64

    /// numpy's little-endian `descr` string, as written in a `.npy` header.
    public var descr: String {
        switch self {
        case .bool: "|b1"
        case .int8: "|i1"
        case .uint8: "|u1"
        case .int16: "<i2"
        case .int32: "<i4"
        case .int64: "<i8"
        case .float16: "<f2"
        case .float32: "<f4"
        case .float64: "<f8"
        }
    }

    public var itemSize: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .int16, .float16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    public var isFloatingPoint: Bool { self == .float16 || self == .float32 || self == .float64 }

    public var description: String { rawValue }

    /// numpy's kind letter and item size ("f", 4) → .float32; nil for types we do not handle.
    init?(kind: Character, size: Int) {
        switch (kind, size) {
        case ("b", 1): self = .bool
        case ("i", 1): self = .int8
        case ("u", 1): self = .uint8
        case ("i", 2): self = .int16
        case ("i", 4): self = .int32
        case ("i", 8): self = .int64
        case ("f", 2): self = .float16
        case ("f", 4): self = .float32
        case ("f", 8): self = .float64
        default: return nil
        }
    }
}

/// IEEE half → single, by bits (portable: `Float16` is not available on every platform Swift runs on).
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // zero or subnormal: mantissa · 2^-24
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 → single: the top 16 bits of a float32.
@inline(__always)
func floatFromBFloat16Bits(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
