import Foundation
import TensorCore

/// Writes float32 tensors as a `torch.save(OrderedDict)` zip checkpoint that `torch.load` and
/// `TorchCheckpoint` both read: `archive/data.pkl` (pickle protocol 2, tensors rebuilt with
/// `torch._utils._rebuild_tensor_v2` from persistent ids), `archive/data/<i>` (raw little-endian
/// storages), `archive/byteorder`, `archive/version`. Atomic.
///
/// Used to hand weights to PyTorch users (`dimr-eval weights export --format pth`) and by the
/// tests that check the pytorch-fid loading path without an 87 MB fixture.
public func writeTorchStateDict(_ tensors: [(name: String, tensor: Tensor)], to url: URL) throws {
    var p = PickleWriter()
    p.proto2()
    p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
    p.mark()
    for (i, (name, t)) in tensors.enumerated() {
        p.unicode(name)
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.mark()
        p.mark(); p.unicode("storage"); p.global("torch", "FloatStorage"); p.unicode(String(i)); p.unicode("cpu"); p.int(t.count); p.tuple()
        p.binpersid()
        p.int(0)
        p.mark(); for d in t.shape { p.int(d) }; p.tuple()
        var strides = [Int](repeating: 1, count: t.shape.count)
        for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
        p.mark(); for s in strides { p.int(s) }; p.tuple()
        p.bool(false)
        p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
        p.tuple()
        p.reduce()
    }
    p.setItems()
    p.stop()

    let zip = try StoredZipWriter(url)
    do {
        func member(_ name: String, _ bytes: [UInt8]) throws {
            try zip.beginEntry("archive/" + name, size: UInt64(bytes.count))
            try zip.write(bytes)
            try zip.endEntry()
        }
        try member("data.pkl", p.bytes)
        try member("byteorder", Array("little".utf8))
        for (i, (_, t)) in tensors.enumerated() {
            try zip.beginEntry("archive/data/\(i)", size: UInt64(4 * t.count))
            try zip.write(UnsafeRawBufferPointer(start: t.data, count: 4 * t.count))
            try zip.endEntry()
        }
        try member("version", Array("3\n".utf8))
        try zip.finish()
    } catch {
        zip.cancel()
        throw error
    }
}

/// Emits pickle opcodes (the few a state dict needs), memoising nothing.
struct PickleWriter {
    var bytes: [UInt8] = []

    mutating func proto2() { bytes += [0x80, 2] }
    mutating func stop() { bytes.append(0x2E) }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74) }
    mutating func emptyTuple() { bytes.append(0x29) }
    mutating func reduce() { bytes.append(0x52) }
    mutating func setItems() { bytes.append(0x75) }
    mutating func binpersid() { bytes.append(0x51) }
    mutating func bool(_ b: Bool) { bytes.append(b ? 0x88 : 0x89) }
    mutating func global(_ module: String, _ name: String) { bytes.append(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }

    mutating func unicode(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        le(UInt64(u.count), 4)
        bytes += u
    }

    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { bytes += [0x4B, UInt8(v)] }
        else if v >= 0 && v < 65536 { bytes.append(0x4D); le(UInt64(v), 2) }
        else if v >= Int(Int32.min) && v <= Int(Int32.max) { bytes.append(0x4A); le(UInt64(UInt32(bitPattern: Int32(v))), 4) }
        else { bytes += [0x8A, 8]; le(UInt64(bitPattern: Int64(v)), 8) }
    }

    private mutating func le(_ v: UInt64, _ n: Int) { for i in 0..<n { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
}
