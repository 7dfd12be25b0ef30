import Foundation

/// SHA-1 of a file, streamed in 1 MB pieces: to name the exact weights a features file came
/// from, and to check `default_1.pt` against the hash scripts/setup.sh verifies. (No crypto
/// library is linked on Linux; SHA-1 is short enough to write out, and here it identifies files,
/// it does not defend against anyone.)
public func sha1Hex(of url: URL) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: url.path) else {
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
    }
    defer { try? handle.close() }
    var sha = SHA1()
    while true {
        guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
        chunk.withUnsafeBytes { sha.update($0) }
    }
    return sha.finalHex()
}

/// SHA-1, fed in pieces: `update` with each piece, then `finalHex()`. Also keys the feature cache
/// (`Eval.FeatureCache`) by the bytes of its input.
public struct SHA1 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length += UInt64(bytes.count)
        var i = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]; i = take
            if pending.count == 64 { pending.withUnsafeBytes { block($0.baseAddress!) }; pending = [] }
        }
        while i + 64 <= bytes.count { block(bytes.baseAddress! + i); i += 64 }
        if i < bytes.count { pending += bytes[i...] }
    }

    public mutating func update(_ text: String) { var t = text; t.withUTF8 { update(UnsafeRawBufferPointer($0)) } }

    public mutating func finalHex() -> String {
        var tail = pending + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        let bits = length &* 8
        for k in (0..<8).reversed() { tail.append(UInt8((bits >> (8 * UInt64(k))) & 0xFF)) }
        tail.withUnsafeBytes { p in var o = 0; while o < p.count { block(p.baseAddress! + o); o += 64 } }
        return [h.0, h.1, h.2, h.3, h.4].map { String(format: "%08x", $0) }.joined()
    }

    private mutating func block(_ p: UnsafeRawPointer) {
        // The 80-word schedule lives on the stack: a heap array per 64-byte block made hashing
        // gigabytes of input (the feature cache's keys) several times slower.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for t in 0..<16 {
                w[t] = UInt32(p.load(fromByteOffset: 4 * t, as: UInt8.self)) << 24 | UInt32(p.load(fromByteOffset: 4 * t + 1, as: UInt8.self)) << 16
                    | UInt32(p.load(fromByteOffset: 4 * t + 2, as: UInt8.self)) << 8 | UInt32(p.load(fromByteOffset: 4 * t + 3, as: UInt8.self))
            }
            for t in 16..<80 { let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]; w[t] = x << 1 | x >> 31 }
            var (a, b, c, d, e) = h
            for t in 0..<80 {
                let f: UInt32, k: UInt32
                switch t {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[t]
                e = d; d = c; c = b << 30 | b >> 2; b = a; a = temp
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
    }
}
