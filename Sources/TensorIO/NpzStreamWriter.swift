import Foundation

/// Writes an `.npz` whose main array is appended row by row, so a 50 000-image sample batch is
/// never held in memory. The final shape is fixed up front; the member is stored (like
/// np.savez) with a zip64 local header whose sizes are known before the data, and its CRC-32 is
/// patched in at the end. Small extra arrays (labels, statistics) can be added at `finish`.
/// The file appears at `url` only when `finish()` succeeds (temporary file + rename).
///
///     let w = try NpzStreamWriter(url: out, dtype: .uint8, shape: [n, 256, 256, 3])
///     for batch in batches { try w.append(images: batch) }
///     try w.finish(extras: [("arr_1", NpyArray(int64: labels, shape: [n]))])
public final class NpzStreamWriter {
    public let url: URL
    public let name: String
    public let header: NpyHeader
    public private(set) var rowsWritten = 0
    private var zip: StoredZipWriter?
    private var spooled: [SpooledArray] = []

    public init(url: URL, name: String = "arr_0", dtype: NpyDType, shape: [Int]) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw FormatError(url, field: "\(name) shape", expected: "at least one non-negative dimension", found: "\(shape)")
        }
        self.url = url
        self.name = name
        header = NpyHeader(dtype: dtype, shape: shape)
        let zip = try StoredZipWriter(url)
        let npyHeader = header.encoded()
        try zip.beginEntry(name + ".npy", size: UInt64(npyHeader.count + header.dataBytes))
        try zip.write(npyHeader)
        self.zip = zip
    }

    public var rowCount: Int { header.rowCount }

    /// Appends whole rows (C order, little-endian); `bytes.count` must be a multiple of the row size.
    public func append(bytes: UnsafeRawBufferPointer) throws {
        guard let zip else { throw FormatError(url, field: "write", expected: "an open writer", found: "finished or cancelled") }
        let rows = try header.rowsIn(bytes.count, after: rowsWritten, file: url, name: name)
        try zip.write(bytes)
        rowsWritten += rows
    }

    /// A second array written row by row alongside the main one (e.g. `spatial` beside `pool`).
    /// A zip member must be written in one piece, so its rows go to a temporary file next to the
    /// output and are copied into the archive by `finish`: memory stays bounded either way.
    public func spool(name: String, dtype: NpyDType, shape: [Int]) throws -> SpooledArray {
        let array = try SpooledArray(name: name, header: NpyHeader(dtype: dtype, shape: shape), beside: url)
        spooled.append(array)
        return array
    }

    /// Appends rows given as an array whose shape is (rows, shape[1...]) and dtype matches.
    public func append(_ array: NpyArray) throws {
        guard array.dtype == header.dtype, Array(array.shape.dropFirst()) == Array(header.shape.dropFirst()) else {
            throw FormatError(url, field: "\(name) rows", expected: "\(header.dtype) rows of shape \(Array(header.shape.dropFirst()))",
                              found: "\(array.dtype) \(array.shape)")
        }
        try array.bytes.withUnsafeBytes { try append(bytes: $0) }
    }

    public func append(uint8 values: [UInt8]) throws { try typed(.uint8) { try values.withUnsafeBytes { try append(bytes: $0) } } }
    public func append(floats values: [Float]) throws { try typed(.float32) { try values.withUnsafeBytes { try append(bytes: $0) } } }
    public func append(doubles values: [Double]) throws { try typed(.float64) { try values.withUnsafeBytes { try append(bytes: $0) } } }
    public func append(int64 values: [Int64]) throws { try typed(.int64) { try values.withUnsafeBytes { try append(bytes: $0) } } }

    /// Appends images to a uint8 (N, H, W, 3) array; each must be H×W.
    public func append(images: [RGBImage]) throws {
        let shape = header.shape
        for image in images {
            guard header.dtype == .uint8, shape.count == 4, shape[3] == 3, image.height == shape[1], image.width == shape[2] else {
                throw FormatError(url, field: "\(name) image", expected: "a \(shape.count == 4 ? "\(shape[2])x\(shape[1])" : "?") RGB image for a uint8 \(shape) array",
                                  found: "\(image.width)x\(image.height) for \(header.dtype) \(shape)")
            }
            try image.pixels.withUnsafeBytes { try append(bytes: $0) }
        }
    }

    /// Completes the archive (adding `extras` as further stored members) and renames it into place.
    /// Throws, and leaves nothing at `url`, if fewer rows than declared were written.
    public func finish(extras: [(String, NpyArray)] = []) throws {
        guard let zip else { throw FormatError(url, field: "write", expected: "an open writer", found: "finished or cancelled") }
        self.zip = nil
        defer { for array in spooled { array.discard() } }
        guard rowsWritten == rowCount else {
            zip.cancel()
            throw FormatError(url, field: "\(name) rows", expected: "\(rowCount) rows", found: "\(rowsWritten) written")
        }
        try zip.endEntry()
        do {
            for array in spooled {
                guard array.rowsWritten == array.header.rowCount else {
                    throw FormatError(url, field: "\(array.name) rows", expected: "\(array.header.rowCount) rows", found: "\(array.rowsWritten) written")
                }
                try zip.writeMember(array.name, header: array.header) { write in try array.copy(to: write) }
            }
        } catch {
            zip.cancel()
            throw error
        }
        for (extraName, array) in extras {
            try zip.writeMember(extraName, header: NpyHeader(dtype: array.dtype, shape: array.shape)) { write in
                try array.bytes.withUnsafeBytes { try write($0) }
            }
        }
        try zip.finish()
    }

    /// Abandons the file; nothing is left at `url`.
    public func cancel() {
        zip?.cancel()
        zip = nil
        for array in spooled { array.discard() }
    }

    private func typed(_ dtype: NpyDType, _ body: () throws -> Void) throws {
        guard header.dtype == dtype else {
            throw FormatError(url, field: "\(name) rows", expected: "\(header.dtype) values", found: "\(dtype) values")
        }
        try body()
    }
}

/// Rows of one array of an `NpzStreamWriter`, held in a temporary file until `finish`.
public final class SpooledArray {
    public let name: String
    public let header: NpyHeader
    public private(set) var rowsWritten = 0
    private let file: URL
    private let output: URL
    private var handle: FileHandle?

    init(name: String, header: NpyHeader, beside output: URL) throws {
        self.name = name; self.header = header; self.output = output
        file = StaleTemporaries.path(beside: output, tag: ".\(name)")
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = FileHandle(forWritingAtPath: file.path) else {
            throw FormatError(output, field: "\(name)", expected: "a writable folder for the temporary rows", found: "cannot create \(file.path)")
        }
        self.handle = handle
    }

    public func append(floats values: [Float]) throws {
        guard header.dtype == .float32 else {
            throw FormatError(output, field: "\(name) rows", expected: "\(header.dtype) values", found: "float32 values")
        }
        try values.withUnsafeBytes { try append(bytes: $0) }
    }

    /// Appends whole rows (C order, little-endian) of this array's dtype.
    public func append(bytes: UnsafeRawBufferPointer) throws {
        guard let handle else { throw FormatError(output, field: "\(name)", expected: "an open writer", found: "finished or cancelled") }
        let rows = try header.rowsIn(bytes.count, after: rowsWritten, file: output, name: name)
        try handle.write(contentsOf: Data(bytes))
        rowsWritten += rows
    }

    /// Streams the rows written so far to `sink` in chunks of a few MB.
    func copy(to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try handle?.close(); handle = nil
        let reader = try FileHandle(forReadingFrom: file)
        defer { try? reader.close() }
        while let chunk = try reader.read(upToCount: 8 << 20), !chunk.isEmpty {
            try chunk.withUnsafeBytes { try sink($0) }
        }
    }

    func discard() {
        try? handle?.close(); handle = nil
        try? FileManager.default.removeItem(at: file)
    }
}

extension NpyHeader {
    /// How many whole rows `byteCount` bytes are, checked against the rows still free.
    func rowsIn(_ byteCount: Int, after written: Int, file: URL, name: String) throws -> Int {
        guard rowBytes > 0 ? byteCount % rowBytes == 0 : byteCount == 0 else {
            throw FormatError(file, field: "\(name) rows", expected: "a multiple of \(rowBytes) bytes (one row of \(shape.dropFirst()))",
                              found: "\(byteCount) bytes")
        }
        let rows = rowBytes > 0 ? byteCount / rowBytes : 0
        guard written + rows <= rowCount else {
            throw FormatError(file, field: "\(name) rows", expected: "at most \(rowCount) rows", found: "\(written + rows)")
        }
        return rows
    }
}

/// A minimal zip writer for stored (uncompressed) members of known size, always using zip64
/// fields so that members and archives past 4 GiB need no special case.
final class StoredZipWriter {
    private struct Record { var name: [UInt8]; var offset: UInt64; var size: UInt64; var crc = CRC32Accumulator() }
    private let out: AtomicFileWriter
    private var records: [Record] = []
    private var open: Record?
    private var written: UInt64 = 0
    private let dosTime: UInt16, dosDate: UInt16

    init(_ url: URL) throws {
        out = try AtomicFileWriter(url)
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: Date())
        dosTime = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        dosDate = UInt16(max(0, (c.year ?? 1980) - 1980) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
    }

    func beginEntry(_ name: String, size: UInt64) throws {
        precondition(open == nil, "previous entry not ended")
        let nameBytes = Array(name.utf8)
        open = Record(name: nameBytes, offset: UInt64(out.bytesWritten), size: size)
        written = 0
        var h = ByteWriter()
        h.u32(0x0403_4B50); h.u16(45); h.u16(0); h.u16(0)       // signature, version 4.5, flags, stored
        h.u16(dosTime); h.u16(dosDate)
        h.u32(0)                                                // CRC-32, patched by endEntry
        h.u32(0xFFFF_FFFF); h.u32(0xFFFF_FFFF)                  // sizes live in the zip64 extra field
        h.u16(UInt16(nameBytes.count)); h.u16(20)
        h.bytes(nameBytes)
        h.u16(0x0001); h.u16(16); h.u64(size); h.u64(size)      // zip64: uncompressed, compressed
        try out.write(h.data)
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// One `.npy` member: header, then the data `body` hands to its writer.
    func writeMember(_ name: String, header: NpyHeader, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let encoded = header.encoded()
        try beginEntry(name + ".npy", size: UInt64(encoded.count + header.dataBytes))
        try write(encoded)
        try body { try write($0) }
        try endEntry()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var record = open else { preconditionFailure("no open entry") }
        guard written + UInt64(bytes.count) <= record.size else {
            throw FormatError(out.url, field: "zip member \(String(decoding: record.name, as: UTF8.self))",
                              expected: "\(record.size) bytes", found: "more")
        }
        record.crc.update(bytes)
        open = record
        try out.write(bytes)
        written += UInt64(bytes.count)
    }

    func endEntry() throws {
        guard let record = open else { preconditionFailure("no open entry") }
        guard written == record.size else {
            throw FormatError(out.url, field: "zip member \(String(decoding: record.name, as: UTF8.self))",
                              expected: "\(record.size) bytes", found: "\(written) written")
        }
        var crc = ByteWriter(); crc.u32(record.crc.value)
        try out.patch(at: Int64(record.offset) + 14, crc.data)
        records.append(record)
        open = nil
    }

    func finish() throws {
        precondition(open == nil, "entry not ended")
        let directoryStart = UInt64(out.bytesWritten)
        var d = ByteWriter()
        for r in records {
            // The zip64 field holds only the values whose 32-bit slot says 0xFFFFFFFF (readers such as
            // ZIPFoundation decode it by that rule): the sizes always, the offset only past 4 GiB.
            let bigOffset = r.offset >= 0xFFFF_FFFF
            d.u32(0x0201_4B50); d.u16(3 << 8 | 45); d.u16(45); d.u16(0); d.u16(0)   // made by Unix 4.5
            d.u16(dosTime); d.u16(dosDate); d.u32(r.crc.value)
            d.u32(0xFFFF_FFFF); d.u32(0xFFFF_FFFF)
            d.u16(UInt16(r.name.count)); d.u16(bigOffset ? 28 : 20); d.u16(0)     // name, extra, comment lengths
            d.u16(0); d.u16(0); d.u32(0o100644 << 16)                              // disk, internal, external (rw-r--r--)
            d.u32(bigOffset ? 0xFFFF_FFFF : UInt32(r.offset))
            d.bytes(r.name)
            d.u16(0x0001); d.u16(bigOffset ? 24 : 16); d.u64(r.size); d.u64(r.size)
            if bigOffset { d.u64(r.offset) }
        }
        let directorySize = UInt64(d.data.count)
        let zip64End = directoryStart + directorySize
        d.u32(0x0606_4B50); d.u64(44); d.u16(3 << 8 | 45); d.u16(45); d.u32(0); d.u32(0)
        d.u64(UInt64(records.count)); d.u64(UInt64(records.count)); d.u64(directorySize); d.u64(directoryStart)
        d.u32(0x0706_4B50); d.u32(0); d.u64(zip64End); d.u32(1)                   // zip64 end locator
        d.u32(0x0605_4B50); d.u16(0); d.u16(0)
        d.u16(UInt16(min(records.count, 0xFFFF))); d.u16(UInt16(min(records.count, 0xFFFF)))
        d.u32(UInt32(min(directorySize, 0xFFFF_FFFF))); d.u32(0xFFFF_FFFF); d.u16(0)
        try out.write(d.data)
        try out.commit()
    }

    func cancel() { out.abort() }
}

/// Little-endian field writer for binary headers.
struct ByteWriter {
    var data: [UInt8] = []
    mutating func u16(_ v: UInt16) { data += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { data.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
    mutating func u64(_ v: UInt64) { for k in 0..<8 { data.append(UInt8((v >> (8 * UInt64(k))) & 0xFF)) } }
    mutating func bytes(_ b: [UInt8]) { data += b }
}
