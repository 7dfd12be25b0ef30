import Foundation
import TensorCore

// safetensors: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …, "__metadata__": {"k": "v"}}
// then the tensors' bytes (little-endian, C order), offsets relative to the end of the header.

/// Reads every tensor as float32 (F32, F64, F16, BF16, U8, I8, I16, I32, I64, BOOL convert).
public func readSafetensors(_ url: URL) throws -> [String: Tensor] {
    try readSafetensorsWithMetadata(url).tensors
}

/// Tensors as float32 plus the `__metadata__` strings.
public func readSafetensorsWithMetadata(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let (arrays, metadata) = try readSafetensorsArrays(url)
    var tensors: [String: Tensor] = [:]
    for (name, array) in arrays { tensors[name] = try array.tensor() }
    return (tensors, metadata)
}

/// Tensors in their stored type (BF16 is widened to float32, having no numpy equivalent).
public func readSafetensorsArrays(_ url: URL) throws -> (arrays: [String: NpyArray], metadata: [String: String]) {
    let handle = try openFileForReading(url, field: "file", expected: "a readable .safetensors file")
    defer { try? handle.close() }
    let fileSize = try handle.seekToEnd()
    try handle.seek(toOffset: 0)
    let lengthBytes = try handle.read(upToCount: 8) ?? Data()
    guard lengthBytes.count == 8 else {
        throw FormatError(url, field: "header length", expected: "8 bytes", found: "\(lengthBytes.count) bytes (file truncated)")
    }
    let headerLength = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    guard headerLength >= 2, headerLength <= 100_000_000, headerLength <= fileSize - 8 else {
        throw FormatError(url, field: "header length", expected: "2...\(min(100_000_000, fileSize - 8)) bytes",
                          found: "\(headerLength) (not a safetensors file, or truncated)")
    }
    let headerData = try handle.read(upToCount: Int(headerLength)) ?? Data()
    guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
        throw FormatError(url, field: "header", expected: "a JSON object",
                          found: String(decoding: headerData.prefix(40), as: UTF8.self))
    }
    let dataStart = 8 + headerLength
    let dataSize = fileSize - dataStart
    var metadata: [String: String] = [:]
    var arrays: [String: NpyArray] = [:]
    for (name, value) in header {
        if name == "__metadata__" {
            guard let m = value as? [String: String] else {
                throw FormatError(url, field: "__metadata__", expected: "an object of strings", found: "\(value)")
            }
            metadata = m
            continue
        }
        guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
              let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
              let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.uint64Value }),
              offsets.count == 2, shape.count == (info["shape"] as? [Any])?.count else {
            throw FormatError(url, field: "tensor \(name)", expected: "{dtype, shape, data_offsets}", found: "\(value)")
        }
        guard let (dtype, itemSize) = safetensorsDType(dtypeName) else {
            throw FormatError(url, field: "tensor \(name) dtype", expected: "F32, F64, F16, BF16, U8, I8, I16, I32, I64 or BOOL",
                              found: dtypeName)
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw FormatError(url, field: "tensor \(name) shape", expected: "non-negative sizes", found: "\(shape)")
        }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max / 16 : $0 * $1 }
        let expected = UInt64(count) * UInt64(itemSize)
        guard offsets[0] <= offsets[1], offsets[1] <= dataSize, offsets[1] - offsets[0] == expected else {
            throw FormatError(url, field: "tensor \(name) data_offsets",
                              expected: "\(expected) bytes for \(dtypeName) \(shape) within \(dataSize) data bytes",
                              found: "\(offsets)")
        }
        try handle.seek(toOffset: dataStart + offsets[0])
        let raw = try handle.read(upToCount: Int(expected)) ?? Data()
        guard raw.count == Int(expected) else {
            throw FormatError(url, field: "tensor \(name) data", expected: "\(expected) bytes", found: "\(raw.count) (truncated)")
        }
        if dtypeName == "BF16" {
            let floats = raw.withUnsafeBytes { src in
                (0..<count).map { floatFromBFloat16Bits(src.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
            }
            arrays[name] = NpyArray(floats: floats, shape: shape)
        } else {
            arrays[name] = try NpyArray(dtype: dtype, shape: shape, bytes: [UInt8](raw))
        }
    }
    return (arrays, metadata)
}

private func safetensorsDType(_ name: String) -> (NpyDType, Int)? {
    switch name {
    case "F32": (.float32, 4)
    case "F64": (.float64, 8)
    case "F16": (.float16, 2)
    case "BF16": (.float32, 2)  // widened on read
    case "U8": (.uint8, 1)
    case "I8": (.int8, 1)
    case "I16": (.int16, 2)
    case "I32": (.int32, 4)
    case "I64": (.int64, 8)
    case "BOOL": (.bool, 1)
    default: nil
    }
}

/// Writes float32 tensors (names sorted, data in that order) with optional metadata; atomic.
public func writeSafetensors(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    let names = tensors.keys.sorted()
    var offset = 0
    for name in names {
        let t = tensors[name]!
        header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
        offset += 4 * t.count
    }
    // The format's own header, not one of our JSON outputs (JSONText.swift): compact with slashes
    // unescaped, as the reference writer (serde_json) lays it out; sorted so the bytes are stable.
    var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
    json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)  // data starts 8-byte aligned
    let writer = try AtomicFileWriter(url)
    var length = ByteWriter()
    length.u64(UInt64(json.count))
    try writer.write(length.data)
    try writer.write(json)
    for name in names {
        let t = tensors[name]!
        try writer.write(UnsafeRawBufferPointer(start: t.data, count: 4 * t.count))
    }
    try writer.commit()
}
