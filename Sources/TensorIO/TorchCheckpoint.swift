import Foundation
import TensorCore
import ZIPFoundation

/// A PyTorch file read without Python: `torch.save` checkpoints (the zip format of torch ≥ 1.6 and
/// the older "legacy" stream of pickles) and `torch.jit.save` TorchScript archives.
///
/// Zip layout (both torch.save and TorchScript): `<dir>/data.pkl` is a pickle of the saved object
/// whose tensors refer, by persistent id ('storage', torch.FloatStorage, key, location, numel),
/// to raw little-endian storages in `<dir>/data/<key>`. TorchScript archives add `<dir>/code/`
/// (the modules' Python-like source) and store the module tree as objects with attribute dicts.
///
/// Legacy layout: pickles of the magic number, the protocol version and system info, then the
/// object, then the list of storage keys, then for each key its element count (int64) and data.
public final class TorchCheckpoint {
    public enum Format: String, Sendable { case zip, torchScript = "torchscript", legacy }

    public let url: URL
    public let format: Format
    /// The decoded `data.pkl` (or the legacy object pickle).
    public let root: PickleValue
    /// For TorchScript archives: the paths under `code/` (e.g. "code/__torch__/inceptionv3.py").
    public let codeFiles: [String]

    private let storages: StorageSource

    public init(contentsOf url: URL) throws {
        self.url = url
        let head = try readFileHead(url, count: 16, field: "file", expected: "a readable PyTorch file")
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            let zip = try ZipStorages(url)
            root = try Unpickler.load(zip.dataPickle, file: url.path + " (data.pkl)")
            codeFiles = zip.codeFiles
            format = zip.codeFiles.isEmpty ? .zip : .torchScript
            storages = .zip(zip)
        } else if head.starts(with: TorchCheckpoint.legacyMagic) {
            let legacy = try LegacyStorages(url)
            root = legacy.root
            codeFiles = []
            format = .legacy
            storages = .legacy(legacy)
        } else {
            throw FormatError(url, field: "header", expected: "a PyTorch file (zip archive or legacy torch.save stream)",
                              found: "bytes " + head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " "))
        }
    }

    /// Whether `url` starts like a file this type reads (zip or legacy torch.save).
    public static func looksLikeTorchFile(_ head: [UInt8]) -> Bool {
        head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: legacyMagic)
    }

    /// PROTO 2, LONG1 of 10 bytes: 0x1950a86a20f9469cfc6c little-endian.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// The text of a member of a zip checkpoint (e.g. "code/__torch__/inceptionv3.py"), nil if absent.
    public func member(_ relativePath: String) throws -> [UInt8]? {
        guard case .zip(let zip) = storages else { return nil }
        return try zip.member(relativePath)
    }

    /// Every tensor reachable from the root, in pickle order, named by its path: state-dict keys
    /// as they are ("Mixed_5b.branch1x1.conv.weight"), module attributes joined with "."
    /// ("net.layers.conv.weight"). Values are converted to float32.
    public func tensors() throws -> [(name: String, tensor: Tensor)] {
        var found: [(String, TensorReference)] = []
        try collect(root, path: "", depth: 0, into: &found)
        var cache: [String: [UInt8]] = [:]
        return try found.map { name, ref in
            let bytes: [UInt8]
            if let b = cache[ref.storage.key] { bytes = b } else {
                bytes = try storageBytes(ref.storage)
                cache[ref.storage.key] = bytes
            }
            return (name, try ref.materialise(bytes, file: url.path, name: name))
        }
    }

    /// Tensors by name (later duplicates win).
    public func tensorDictionary() throws -> [String: Tensor] {
        Dictionary(try tensors().map { ($0.name, $0.tensor) }, uniquingKeysWith: { _, b in b })
    }

    private func storageBytes(_ s: StorageReference) throws -> [UInt8] {
        let bytes: [UInt8]
        switch storages {
        case .zip(let zip): bytes = try zip.storage(s.key)
        case .legacy(let legacy): bytes = try legacy.storage(s.key)
        }
        guard bytes.count >= s.numel * s.dtype.itemSize else {
            throw FormatError(url, field: "storage \(s.key)", expected: "\(s.numel) \(s.dtype) values (\(s.numel * s.dtype.itemSize) bytes)",
                              found: "\(bytes.count) bytes (file truncated?)")
        }
        return bytes
    }

    // MARK: - walking the object tree

    private func collect(_ value: PickleValue, path: String, depth: Int, into found: inout [(String, TensorReference)]) throws {
        // Deep nesting (or a self-referential pickle) is not something torch writes.
        guard depth < 100 else {
            throw FormatError(url, field: path.isEmpty ? "pickle" : path, expected: "at most 100 levels of nesting", found: "more (corrupt or cyclic pickle)")
        }
        func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        switch value {
        case .dict(let d):
            for (k, v) in d.items {
                guard let key = k.string ?? k.int.map(String.init) else { continue }
                try collect(v, path: join(key), depth: depth + 1, into: &found)
            }
        case .list(let l):
            for (i, v) in l.items.enumerated() { try collect(v, path: join(String(i)), depth: depth + 1, into: &found) }
        case .tuple(let t):
            for (i, v) in t.enumerated() { try collect(v, path: join(String(i)), depth: depth + 1, into: &found) }
        case .object(let o):
            switch o.globalName {
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
                found.append((path, try tensorReference(o, path: path)))
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
                guard let data = o.arguments.first else {
                    throw FormatError(url, field: path, expected: "a parameter's data tensor", found: "no arguments")
                }
                try collect(data, path: path, depth: depth + 1, into: &found)
            default:
                if let state = o.state { try collect(state, path: path, depth: depth + 1, into: &found) }
                try collect(.dict(o.dictItems), path: path, depth: depth + 1, into: &found)
                try collect(.list(o.listItems), path: path, depth: depth + 1, into: &found)
            }
        default:
            break
        }
    }

    /// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, …)
    private func tensorReference(_ o: PickleObject, path: String) throws -> TensorReference {
        let a = o.arguments
        guard a.count >= 4, case .persistent(let pid) = a[0], let offset = a[1].int,
              let size = a[2].tupleItems?.compactMap(\.int), let stride = a[3].tupleItems?.compactMap(\.int),
              size.count == a[2].tupleItems?.count, stride.count == size.count else {
            throw FormatError(url, field: path, expected: "_rebuild_tensor_v2(storage, offset, size, stride, …)",
                              found: "arguments \(a.prefix(4).map(\.description))")
        }
        var storage = try storageReference(pid, path: path)
        var base = offset
        if let view = storage.viewOffset { base += view; storage.viewOffset = nil }
        return TensorReference(storage: storage, offset: base, shape: size, stride: stride)
    }

    /// ('storage', torch.FloatStorage, key, location, numel[, view_metadata])
    private func storageReference(_ pid: PickleValue, path: String) throws -> StorageReference {
        guard let t = pid.tupleItems, t.count >= 5, t[0].string == "storage",
              case .global(_, let typeName) = t[1], let numel = t[4].int, numel >= 0 else {
            throw FormatError(url, field: "\(path) storage", expected: "('storage', torch.<Type>Storage, key, location, numel)",
                              found: "persistent id \(pid.tupleItems?.map(\.description) ?? [pid.description])")
        }
        let key = t[2].string ?? t[2].int.map(String.init) ?? ""
        guard let dtype = TorchScalarType(storageName: typeName) else {
            throw FormatError(url, field: "\(path) storage type", expected: "a numeric storage (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool)",
                              found: typeName)
        }
        var viewOffset: Int? = nil
        if t.count >= 6, let view = t[5].tupleItems, view.count >= 2, let off = view[1].int { viewOffset = off }
        return StorageReference(key: key, dtype: dtype, numel: numel, viewOffset: viewOffset)
    }

    private enum StorageSource {
        case zip(ZipStorages)
        case legacy(LegacyStorages)
    }
}

// MARK: - tensors and storages

/// Element types of torch storages, by the name of their storage class.
enum TorchScalarType: String {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    init?(storageName: String) {
        switch storageName {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage", "UntypedStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Element i of little-endian storage bytes as a Float.
    @inline(__always) func value(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        switch self {
        case .float32: return Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        case .float64: return Float(Double(bitPattern: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
        case .float16: return halfToFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        case .bfloat16: return Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        case .int64: return Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
        case .int32: return Float(p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
        case .int16: return Float(p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
        case .int8: return Float(p.load(fromByteOffset: i, as: Int8.self))
        case .uint8, .bool: return Float(p.load(fromByteOffset: i, as: UInt8.self))
        }
    }
}

/// IEEE half → float, written out so it does not depend on Float16 support on the platform.
private func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16, exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    if exponent == 0 {
        let v = Float(mantissa) * Float(sign != 0 ? -1 : 1) / 16_777_216  // 2^-24
        return v
    }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
}

struct StorageReference {
    var key: String
    var dtype: TorchScalarType
    var numel: Int
    var viewOffset: Int?
}

struct TensorReference {
    var storage: StorageReference
    var offset: Int
    var shape: [Int]
    var stride: [Int]

    /// Copies the (possibly strided) view out of the storage into a contiguous float32 tensor.
    func materialise(_ bytes: [UInt8], file: String, name: String) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw FormatError(file: file, field: name, expected: "non-negative sizes, strides and offset",
                              found: "size \(shape), stride \(stride), offset \(offset)")
        }
        let count = shape.reduce(1, *)
        let last = count == 0 ? offset : offset + zip(shape, stride).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        guard last < max(storage.numel, 1) || count == 0 else {
            throw FormatError(file: file, field: name, expected: "a view inside its storage of \(storage.numel) elements",
                              found: "size \(shape), stride \(stride), offset \(offset) reaching element \(last)")
        }
        let t = Tensor(uninitialized: shape)
        let dtype = storage.dtype
        bytes.withUnsafeBytes { raw in
            let p = raw.baseAddress!
            var contiguous = true, expected = 1
            for d in stride.indices.reversed() where shape[d] != 1 {
                if stride[d] != expected { contiguous = false; break }
                expected *= shape[d]
            }
            if contiguous {
                if dtype == .float32 {
                    UnsafeMutableRawPointer(t.data).copyMemory(from: p + 4 * offset, byteCount: 4 * count)
                } else {
                    for i in 0..<count { t.data[i] = dtype.value(p, offset + i) }
                }
                return
            }
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var src = offset
                for d in 0..<shape.count { src += index[d] * stride[d] }
                t.data[i] = dtype.value(p, src)
                var d = shape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
            }
        }
        return t
    }
}

// MARK: - zip archives

/// The members of a zip checkpoint: all live under one top-level folder (named after the file
/// for torch.save, "archive" in recent torch, whatever the module was called for TorchScript).
final class ZipStorages {
    let url: URL
    let archive: Archive
    let prefix: String
    let dataPickle: [UInt8]
    let codeFiles: [String]

    init(_ url: URL) throws {
        self.url = url
        try ZipChecks.requireSaneDirectory(url, field: "zip container", expected: "a readable zip archive (PyTorch checkpoint)")
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw FormatError(url, field: "zip container", expected: "a readable zip archive (PyTorch checkpoint)",
                              found: "\(error) (file truncated or corrupt?)")
        }
        guard let pkl = archive.first(where: { $0.path == "data.pkl" || $0.path.hasSuffix("/data.pkl") && !$0.path.dropLast(9).contains("/") }) else {
            throw FormatError(url, field: "data.pkl", expected: "a zip archive with <folder>/data.pkl (torch.save or torch.jit.save)",
                              found: "no data.pkl member")
        }
        prefix = String(pkl.path.dropLast("data.pkl".count))
        let prefix = self.prefix
        codeFiles = archive.filter { $0.type == .file && $0.path.hasPrefix(prefix + "code/") }
            .map { String($0.path.dropFirst(prefix.count)) }
            .filter { $0.hasSuffix(".py") }
            .sorted()
        dataPickle = try ZipStorages.read(pkl, archive: archive, url: url)
        if let order = archive[prefix + "byteorder"] {
            let text = String(decoding: try ZipStorages.read(order, archive: archive, url: url), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw FormatError(url, field: "byteorder", expected: "little", found: text)
            }
        }
    }

    func member(_ relativePath: String) throws -> [UInt8]? {
        guard let entry = archive[prefix + relativePath] else { return nil }
        return try ZipStorages.read(entry, archive: archive, url: url)
    }

    func storage(_ key: String) throws -> [UInt8] {
        guard let entry = archive[prefix + "data/" + key] else {
            throw FormatError(url, field: "storage \(key)", expected: "zip member \(prefix)data/\(key)", found: "no such member")
        }
        return try ZipStorages.read(entry, archive: archive, url: url)
    }

    static func read(_ entry: Entry, archive: Archive, url: URL) throws -> [UInt8] {
        try ZipChecks.readMember(entry, archive: archive, url: url)
    }
}

// MARK: - legacy torch.save streams

/// torch < 1.6 (and `_use_new_zipfile_serialization=False`): pytorch-fid's released
/// `pt_inception-2015-12-05-6726825d.pth` is in this format.
final class LegacyStorages {
    let url: URL
    let root: PickleValue
    private var storages: [String: [UInt8]] = [:]

    init(_ url: URL) throws {
        self.url = url
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
            throw FormatError(url, field: "file", expected: "a readable PyTorch file", found: "\(error)")
        }
        let file = url.path
        // The magic number is an 80-bit LONG1, wider than PickleValue's Int: skip its pickle by hand.
        let afterMagic = TorchCheckpoint.legacyMagic.count
        guard bytes.count > afterMagic, bytes[afterMagic] == 0x2E else {
            throw FormatError(url, field: "magic number", expected: "a legacy torch.save header", found: "something else")
        }
        var u = Unpickler(bytes, offset: afterMagic + 1, file: file)
        let protocolVersion = try u.load()
        guard protocolVersion.int == 1001 else {
            throw FormatError(url, field: "protocol version", expected: "1001", found: protocolVersion.description)
        }
        _ = try u.load()                    // sys_info: endianness and type sizes
        root = try u.load()
        let keys = try u.load()
        guard let keyList = keys.tupleItems?.map({ $0.string ?? $0.int.map(String.init) ?? "" }) else {
            throw FormatError(url, field: "storage keys", expected: "a list of storage keys", found: keys.description)
        }
        // Each storage: int64 element count, then the data. Element sizes come from the tensors' persistent ids.
        var sizes: [String: Int] = [:]
        LegacyStorages.itemSizes(root, depth: 0, into: &sizes)
        var offset = u.end
        for key in keyList {
            guard offset + 8 <= bytes.count else {
                throw FormatError(url, field: "storage \(key)", expected: "an 8-byte element count", found: "end of file (truncated?)")
            }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            guard let itemSize = sizes[key] else {
                throw FormatError(url, field: "storage \(key)", expected: "a storage used by some tensor", found: "an unreferenced storage")
            }
            guard n <= UInt64(bytes.count - offset) / UInt64(itemSize) else {
                throw FormatError(url, field: "storage \(key)", expected: "\(n) elements of \(itemSize) bytes",
                                  found: "\(bytes.count - offset) bytes left (file truncated?)")
            }
            let length = Int(n) * itemSize
            storages[key] = Array(bytes[offset..<(offset + length)])
            offset += length
        }
    }

    func storage(_ key: String) throws -> [UInt8] {
        guard let s = storages[key] else {
            throw FormatError(url, field: "storage \(key)", expected: "a storage listed in the file", found: "none")
        }
        return s
    }

    private static func itemSizes(_ value: PickleValue, depth: Int, into sizes: inout [String: Int]) {
        guard depth < 100 else { return }
        switch value {
        case .persistent(let pid):
            if let t = pid.tupleItems, t.count >= 3, case .global(_, let type) = t[1],
               let dtype = TorchScalarType(storageName: type) {
                sizes[t[2].string ?? t[2].int.map(String.init) ?? ""] = dtype.itemSize
            }
        case .dict(let d): for (_, v) in d.items { itemSizes(v, depth: depth + 1, into: &sizes) }
        case .list(let l): for v in l.items { itemSizes(v, depth: depth + 1, into: &sizes) }
        case .tuple(let t): for v in t { itemSizes(v, depth: depth + 1, into: &sizes) }
        case .object(let o):
            for v in o.arguments { itemSizes(v, depth: depth + 1, into: &sizes) }
            if let s = o.state { itemSizes(s, depth: depth + 1, into: &sizes) }
            itemSizes(.dict(o.dictItems), depth: depth + 1, into: &sizes)
            itemSizes(.list(o.listItems), depth: depth + 1, into: &sizes)
        default: break
        }
    }
}
