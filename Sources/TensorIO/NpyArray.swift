import Foundation
import TensorCore

/// An n-dimensional array as numpy stores it: C order, little-endian bytes.
public struct NpyArray: Sendable, Equatable {
    public var dtype: NpyDType
    public var shape: [Int]
    /// The elements, C order, little-endian (`elementCount * dtype.itemSize` bytes).
    public var bytes: [UInt8]

    /// Raw bytes of the given type; throws if their count does not match the shape.
    public init(dtype: NpyDType, shape: [Int], bytes: [UInt8]) throws {
        let expected = shape.reduce(1, *) * dtype.itemSize
        guard shape.allSatisfy({ $0 >= 0 }), bytes.count == expected else {
            throw FormatError(file: "<memory>", field: "array data", expected: "\(expected) bytes for \(dtype) \(shape)",
                              found: "\(bytes.count) bytes")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(floats: [Float], shape: [Int]) { self.init(values: floats, dtype: .float32, shape: shape) }
    public init(doubles: [Double], shape: [Int]) { self.init(values: doubles, dtype: .float64, shape: shape) }
    public init(uint8: [UInt8], shape: [Int]) { self.init(values: uint8, dtype: .uint8, shape: shape) }
    public init(int64: [Int64], shape: [Int]) { self.init(values: int64, dtype: .int64, shape: shape) }
    public init(int32: [Int32], shape: [Int]) { self.init(values: int32, dtype: .int32, shape: shape) }
    /// A float32 array with the tensor's shape and values.
    public init(_ tensor: Tensor) {
        self.init(values: Array(tensor.buffer), dtype: .float32, shape: tensor.shape)
    }

    private init<T>(values: [T], dtype: NpyDType, shape: [Int]) {
        precondition(MemoryLayout<T>.size == dtype.itemSize)
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) values, got \(values.count)")
        self.dtype = dtype
        self.shape = shape
        // The byte order of every platform Swift runs on here is little-endian, as .npy's '<' is.
        self.bytes = values.withUnsafeBytes { Array($0) }
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Float values; every numeric dtype converts (integers exactly up to 2^24).
    public func asFloats() throws -> [Float] {
        switch dtype {
        case .float32: return copied(Float.self)
        case .float16: return mapped(UInt16.self) { floatFromHalfBits($0) }
        case .float64: return mapped(Double.self) { Float($0) }
        case .bool, .uint8: return mapped(UInt8.self) { Float($0) }
        case .int8: return mapped(Int8.self) { Float($0) }
        case .int16: return mapped(Int16.self) { Float($0) }
        case .int32: return mapped(Int32.self) { Float($0) }
        case .int64: return mapped(Int64.self) { Float($0) }
        }
    }

    /// Double values; every numeric dtype converts.
    public func asDoubles() throws -> [Double] {
        switch dtype {
        case .float64: return copied(Double.self)
        case .float32: return mapped(Float.self) { Double($0) }
        case .float16: return mapped(UInt16.self) { Double(floatFromHalfBits($0)) }
        case .bool, .uint8: return mapped(UInt8.self) { Double($0) }
        case .int8: return mapped(Int8.self) { Double($0) }
        case .int16: return mapped(Int16.self) { Double($0) }
        case .int32: return mapped(Int32.self) { Double($0) }
        case .int64: return mapped(Int64.self) { Double($0) }
        }
    }

    /// Bytes of a uint8 (or bool) array; other types would lose values, so they throw.
    public func asUInt8() throws -> [UInt8] {
        guard dtype == .uint8 || dtype == .bool else { throw typeError(expected: "uint8") }
        return bytes
    }

    /// Integers of any integer (or bool) dtype; floating-point types throw.
    public func asInt64() throws -> [Int64] {
        switch dtype {
        case .int64: return copied(Int64.self)
        case .int32: return mapped(Int32.self) { Int64($0) }
        case .int16: return mapped(Int16.self) { Int64($0) }
        case .int8: return mapped(Int8.self) { Int64($0) }
        case .bool, .uint8: return mapped(UInt8.self) { Int64($0) }
        default: throw typeError(expected: "an integer dtype")
        }
    }

    /// Same as `asInt64`, as `Int` (labels, indices).
    public func asInts() throws -> [Int] { try asInt64().map { Int($0) } }

    /// A float32 tensor of the same shape (values converted as in `asFloats`).
    public func tensor() throws -> Tensor { Tensor(shape: shape, values: try asFloats()) }

    private func typeError(expected: String) -> FormatError {
        FormatError(file: "<memory>", field: "array dtype", expected: expected, found: "\(dtype) (\(dtype.descr))")
    }

    private func copied<T>(_: T.Type) -> [T] {
        let n = elementCount
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            bytes.withUnsafeBytes { src in
                if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: src.baseAddress!, byteCount: n * MemoryLayout<T>.size) }
            }
            initialized = n
        }
    }

    private func mapped<S, T>(_: S.Type, _ convert: (S) -> T) -> [T] {
        let n = elementCount
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            bytes.withUnsafeBytes { src in
                for i in 0..<n { out[i] = convert(src.loadUnaligned(fromByteOffset: i * MemoryLayout<S>.size, as: S.self)) }
            }
            initialized = n
        }
    }
}

// MARK: - .npy files

/// Reads a whole `.npy` file.
public func readNpy(_ url: URL) throws -> NpyArray {
    let file = try NpyFile(url)
    var bytes = [UInt8](repeating: 0, count: file.header.dataBytes)
    try bytes.withUnsafeMutableBytes { out in
        try file.streamRows(rowsPerChunk: max(1, (8 << 20) / max(file.header.rowBytes, 1))) { first, _, chunk in
            let offset = first * file.header.rowBytes
            if !chunk.isEmpty { (out.baseAddress! + offset).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count) }
        }
    }
    return try NpyArray(dtype: file.header.dtype, shape: file.header.shape, bytes: bytes)
}

/// Writes a `.npy` file (format 1.0), atomically.
public func writeNpy(_ array: NpyArray, to url: URL) throws {
    let writer = try AtomicFileWriter(url)
    try writer.write(NpyHeader(dtype: array.dtype, shape: array.shape).encoded())
    try writer.write(array.bytes)
    try writer.commit()
}

/// An open `.npy` file whose rows are read on demand, so an array larger than memory can be
/// processed in chunks.
public final class NpyFile {
    public let url: URL
    public let header: NpyHeader
    private let handle: FileHandle

    public init(_ url: URL) throws {
        self.url = url
        let handle = try openFileForReading(url, field: "file", expected: "a readable .npy file")
        self.handle = handle
        let prefix = try handle.read(upToCount: 12) ?? Data()
        let total = try prefix.withUnsafeBytes { try NpyHeader.totalLength(prefix: $0, file: url.path) }
        guard let total else {
            throw FormatError(url, field: "npy header", expected: "at least 12 bytes",
                              found: "\(prefix.count) bytes (file truncated)")
        }
        // A 1.0 header is 10 bytes of preamble plus its dict; 12 bytes were read already.
        let rest = total > 12 ? try handle.read(upToCount: total - 12) ?? Data() : Data()
        header = try (prefix + rest).withUnsafeBytes { try NpyHeader.parse($0, file: url.path) }
        let size = try handle.seekToEnd()
        let expected = UInt64(header.headerLength + header.dataBytes)
        guard size >= expected else {
            throw FormatError(url, field: "npy data", expected: "\(header.dataBytes) bytes for \(header.dtype) \(header.shape)",
                              found: "\(Int(size) - header.headerLength) bytes (file truncated)")
        }
    }

    deinit { try? handle.close() }

    /// Calls `body` with consecutive groups of at most `rowsPerChunk` rows (first dimension),
    /// little-endian, C order; memory use is one chunk.
    public func streamRows(rowsPerChunk: Int,
                           _ body: (_ firstRow: Int, _ rows: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(rowsPerChunk > 0, "rowsPerChunk must be positive")
        let rowBytes = header.rowBytes, rowCount = header.rowCount
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, rowsPerChunk * rowBytes), alignment: 64)
        defer { buffer.deallocate() }
        try handle.seek(toOffset: UInt64(header.headerLength))
        var row = 0
        while row < rowCount {
            let rows = min(rowsPerChunk, rowCount - row)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(rows * rowBytes)])
            var filled = 0
            while filled < chunk.count {
                let n = read(handle.fileDescriptor, chunk.baseAddress! + filled, chunk.count - filled)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw FormatError(url, field: "npy data", expected: "\(header.dataBytes) bytes",
                                      found: n == 0 ? "end of file after \(row * rowBytes + filled) bytes" : String(cString: strerror(errno)))
                }
                filled += n
            }
            if header.bigEndian { swapBytesInPlace(chunk, itemSize: header.dtype.itemSize) }
            try body(row, rows, UnsafeRawBufferPointer(chunk))
            row += rows
        }
    }
}
