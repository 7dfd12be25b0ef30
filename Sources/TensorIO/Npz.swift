import Foundation
import ZIPFoundation

/// An `.npz` archive (np.savez: stored members; np.savez_compressed: deflated members), read
/// through ZIPFoundation. Members are read lazily; `streamRows` never holds a whole array, so a
/// 50 000×256×256×3 sample batch (9.8 GB) streams in chunks of a few megabytes.
///
/// Not thread-safe: one archive has one file position.
public final class NpzFile {
    public let url: URL
    /// Array names in archive order, without the ".npy" suffix ("arr_0", "arr_1", "mu", …).
    public let names: [String]
    private let archive: Archive
    private let entries: [String: Entry]
    private var headers: [String: NpyHeader] = [:]

    public init(contentsOf url: URL) throws {
        self.url = url
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw FormatError(url, field: "file", expected: "a readable .npz file",
                              found: FileManager.default.fileExists(atPath: url.path) ? "unreadable" : "no such file")
        }
        let expected = "a zip archive (np.savez / np.savez_compressed)"
        try ZipChecks.requireSaneDirectory(url, field: "zip container", expected: expected)
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw FormatError(url, field: "zip container", expected: expected,
                              found: NpzFile.describeZipError(error, url: url))
        }
        var names: [String] = []
        var entries: [String: Entry] = [:]
        for entry in archive where entry.type == .file {
            let name = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
            if entries[name] == nil { names.append(name) }
            entries[name] = entry
        }
        self.names = names
        self.entries = entries
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The dtype and shape of a member, from its header alone (cheap even for a huge deflated member).
    public func header(_ name: String) throws -> (dtype: NpyDType, shape: [Int]) {
        let h = try npyHeader(name)
        return (h.dtype, h.shape)
    }

    /// The full header of a member.
    public func npyHeader(_ name: String) throws -> NpyHeader {
        if let h = headers[name] { return h }
        let entry = try self.entry(name)
        // Sizes first: ZIPFoundation reads a stored member of a corrupt declared size (4 GB in a
        // file of 1 kB) in empty 4 kB pieces up to that size (found by fuzzing: seconds per member).
        try ZipChecks.checkSizes(entry, fileSize: ZipChecks.fileSize(url), url: url)
        var collected = [UInt8]()
        var header: NpyHeader?
        do {
            _ = try archive.extract(entry, bufferSize: 4096, skipCRC32: true) { data in
                collected += data
                if let h = try self.parseHeaderIfComplete(collected, name: name) { header = h; throw StopReading() }
            }
        } catch is StopReading {
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(url, field: "\(name).npy", expected: "a readable zip member",
                              found: NpzFile.describeZipError(error, url: url))
        }
        guard let header else {
            throw FormatError(url, field: "\(name).npy header", expected: "a complete .npy header",
                              found: "\(collected.count) bytes (member truncated)")
        }
        try checkSize(header, entry: entry, name: name)
        headers[name] = header
        return header
    }

    /// A whole member in memory.
    public func array(_ name: String) throws -> NpyArray {
        let header = try npyHeader(name)
        var bytes = [UInt8](repeating: 0, count: header.dataBytes)
        let rowBytes = header.rowBytes
        try bytes.withUnsafeMutableBytes { out in
            try streamRows(name, rowsPerChunk: max(1, (4 << 20) / max(rowBytes, 1))) { first, _, chunk in
                if !chunk.isEmpty {
                    (out.baseAddress! + first * rowBytes).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
                }
            }
        }
        return try NpyArray(dtype: header.dtype, shape: header.shape, bytes: bytes)
    }

    /// Calls `body` with consecutive groups of at most `rowsPerChunk` rows (first dimension) of a
    /// member, little-endian, C order. Memory use is one chunk plus ZIPFoundation's read buffer.
    /// The member's CRC-32 is checked once all rows have been read.
    public func streamRows(_ name: String, rowsPerChunk: Int,
                           _ body: (_ firstRow: Int, _ rows: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(rowsPerChunk > 0, "rowsPerChunk must be positive")
        let header = try npyHeader(name)
        let entry = try self.entry(name)
        let rowBytes = header.rowBytes, rowCount = header.rowCount
        let chunkBytes = max(1, min(rowsPerChunk, max(rowCount, 1)) * rowBytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
        defer { buffer.deallocate() }

        var headerBytesLeft = header.headerLength
        var filled = 0        // bytes in `buffer`
        var row = 0           // first row held in `buffer`
        var received = 0      // data bytes seen so far
        var bodyError: Error?
        func flush() throws {
            let rows = rowBytes == 0 ? rowCount - row : filled / rowBytes
            guard rows > 0 else { return }
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(rows * rowBytes)])
            if header.bigEndian { swapBytesInPlace(chunk, itemSize: header.dtype.itemSize) }
            do { try body(row, rows, UnsafeRawBufferPointer(chunk)) } catch { bodyError = error; throw error }
            row += rows
            filled = 0
        }
        var crc = CRC32Accumulator()
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { data in
                try data.withUnsafeBytes { (piece: UnsafeRawBufferPointer) in
                    crc.update(piece)
                    var piece = piece
                    if headerBytesLeft > 0 {
                        let skip = min(headerBytesLeft, piece.count)
                        headerBytesLeft -= skip
                        piece = UnsafeRawBufferPointer(rebasing: piece[skip...])
                    }
                    guard received + piece.count <= header.dataBytes else {
                        throw FormatError(url, field: "\(name).npy data", expected: "\(header.dataBytes) bytes for \(header.dtype) \(header.shape)",
                                          found: "more data than the header declares")
                    }
                    received += piece.count
                    while !piece.isEmpty {
                        let n = min(piece.count, buffer.count - filled)
                        (buffer.baseAddress! + filled).copyMemory(from: piece.baseAddress!, byteCount: n)
                        filled += n
                        piece = UnsafeRawBufferPointer(rebasing: piece[n...])
                        if filled == buffer.count && rowBytes > 0 { try flush() }
                    }
                }
            }
        } catch {
            if let bodyError { throw bodyError }
            if let error = error as? FormatError { throw error }
            throw FormatError(url, field: "\(name).npy", expected: "\(header.dataBytes) bytes of \(entry.isCompressed ? "deflated" : "stored") data",
                              found: NpzFile.describeZipError(error, url: url))
        }
        guard received == header.dataBytes else {
            throw FormatError(url, field: "\(name).npy data", expected: "\(header.dataBytes) bytes for \(header.dtype) \(header.shape)",
                              found: "\(received) bytes (member truncated)")
        }
        if crc.value != entry.checksum {
            throw FormatError(url, field: "\(name).npy crc32", expected: String(format: "%08x", entry.checksum),
                              found: String(format: "%08x (corrupt data)", crc.value))
        }
        try flush()
        if rowCount > 0 && row == 0 && rowBytes == 0 { try body(0, rowCount, UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    // MARK: - helpers

    private struct StopReading: Error {}

    private func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else {
            throw FormatError(url, field: "member \(name)", expected: "an array named \(name)",
                              found: names.isEmpty ? "no arrays" : "arrays " + names.joined(separator: ", "))
        }
        return entry
    }

    private func parseHeaderIfComplete(_ bytes: [UInt8], name: String) throws -> NpyHeader? {
        try bytes.withUnsafeBytes { raw in
            guard let total = try NpyHeader.totalLength(prefix: raw, file: "\(url.path) (\(name).npy)"),
                  raw.count >= total else { return nil }
            return try NpyHeader.parse(raw, file: "\(url.path) (\(name).npy)")
        }
    }

    /// The zip directory's size for a member must match its header; a mismatch means a corrupt
    /// or truncated archive, and is cheaper to report now than after reading gigabytes.
    private func checkSize(_ header: NpyHeader, entry: Entry, name: String) throws {
        let expected = UInt64(header.headerLength + header.dataBytes)
        guard entry.uncompressedSize == expected else {
            throw FormatError(url, field: "\(name).npy size",
                              expected: "\(expected) bytes for \(header.dtype) \(header.shape)",
                              found: "\(entry.uncompressedSize) bytes in the zip directory")
        }
    }

    static func describeZipError(_ error: Error, url: URL) -> String {
        switch error {
        case Archive.ArchiveError.unreadableArchive, Archive.ArchiveError.missingEndOfCentralDirectoryRecord:
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
            return "no readable zip directory (truncated or not a zip file\(size.map { ", \($0) bytes" } ?? ""))"
        case Archive.ArchiveError.invalidCRC32: return "a CRC-32 mismatch (corrupt data)"
        case Data.DataError.unreadableFile: return "an unexpected end of file (truncated)"
        default:
            // ZIPFoundation's decompression error type is internal; name it by its text.
            let text = "\(error)"
            return text.contains("corruptedData") ? "corrupt deflate data" : text
        }
    }
}

/// Writes arrays as an `.npz` (each as "<name>.npy"), stored like np.savez or deflated like
/// np.savez_compressed; atomic. Large arrays stream from memory without a second copy.
/// Stored archives go through the same zip64 writer as `NpzStreamWriter` (fast CRC); deflated
/// ones through ZIPFoundation.
public func writeNpz(_ arrays: [(String, NpyArray)], to url: URL, compressed: Bool = false) throws {
    if !compressed {
        let zip = try StoredZipWriter(url)
        for (name, array) in arrays {
            let header = NpyHeader(dtype: array.dtype, shape: array.shape).encoded()
            try zip.beginEntry(name + ".npy", size: UInt64(header.count + array.bytes.count))
            try zip.write(header)
            try zip.write(array.bytes)
            try zip.endEntry()
        }
        try zip.finish()
        return
    }
    let temporary = StaleTemporaries.path(beside: url)
    defer { try? FileManager.default.removeItem(at: temporary) }
    do {
        let archive = try Archive(url: temporary, accessMode: .create)
        for (name, array) in arrays {
            let header = NpyHeader(dtype: array.dtype, shape: array.shape).encoded()
            let total = header.count + array.bytes.count
            try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(total),
                                 compressionMethod: .deflate, bufferSize: 1 << 20) { position, size in
                // Serve [position, position+size) from header followed by data, without concatenating.
                var out = Data(capacity: size)
                var p = Int(position), left = size
                if p < header.count {
                    let n = min(left, header.count - p)
                    out.append(contentsOf: header[p..<(p + n)])
                    p += n; left -= n
                }
                if left > 0 {
                    let start = p - header.count
                    array.bytes.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[start..<(start + left)])) }
                }
                return out
            }
        }
    } catch {
        throw FormatError(url, field: "write", expected: "an .npz written", found: "\(error)")
    }
    let handle = try FileHandle(forUpdating: temporary)
    try handle.synchronize()
    try handle.close()
    if rename(temporary.path, url.path) != 0 {
        throw FormatError(url, field: "write", expected: "the finished file renamed into place",
                          found: String(cString: strerror(errno)))
    }
}
