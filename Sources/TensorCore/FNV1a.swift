/// 64-bit FNV-1a: XOR a value in, multiply by the FNV prime. Fed bytes it is the standard hash;
/// fed wider values (a float's bits, eight pixels at once) it mixes each whole, which is what the
/// existing seeds, cache keys and fingerprints were made with: changing the feed changes them all.
@frozen
public struct FNV1a {
    @usableFromInline var state: UInt64 = 0xcbf2_9ce4_8422_2325
    /// the hash of everything mixed in so far
    @inlinable public var value: UInt64 { state }

    @inlinable public init() {}

    @inlinable
    public mutating func mix(_ word: UInt64) { state = (state ^ word) &* 0x100_0000_01b3 }

    /// The standard FNV-1a of a string's UTF-8 bytes.
    @inlinable
    public static func of(_ text: String) -> UInt64 {
        var hash = FNV1a()
        for byte in text.utf8 { hash.mix(UInt64(byte)) }
        return hash.value
    }
}
