import XCTest
import TensorCore

/// FNV-1a against the published 64-bit test vectors, and the whole-word mix the fingerprints use.
final class FNV1aTests: XCTestCase {
    func testStandardVectors() {
        XCTAssertEqual(FNV1a.of(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a.of("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a.of("foobar"), 0x8594_4171_f739_67e8)
    }

    func testWordMixIsOneXorAndOneMultiply() {
        var hash = FNV1a()
        hash.mix(0x0102_0304_0506_0708)
        XCTAssertEqual(hash.value, (0xcbf2_9ce4_8422_2325 ^ 0x0102_0304_0506_0708) &* 0x100_0000_01b3)
        // …which is not the byte-wise hash of the same eight bytes
        var bytes = FNV1a()
        for b in [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01] as [UInt64] { bytes.mix(b) }
        XCTAssertNotEqual(hash.value, bytes.value)
    }

    /// A named stream's seed depends on its name through this hash: pinned, so that a change of
    /// the hash (which would silently change every run's weights and noise) fails here.
    func testNamedStreamsArePinned() {
        var rng = SplitMix64(seed: 0, stream: "foobar")
        var reference = SplitMix64(seed: 0x8594_4171_f739_67e8)
        _ = reference.next()
        XCTAssertEqual(rng.next(), reference.next())
    }
}
