import Foundation
import ZIPFoundation

/// Checks made before and while reading zip archives (npz files, PyTorch and TorchScript zips),
/// so that a damaged archive is refused quickly, clearly and without large allocations.
enum ZipChecks {
    /// Checks a zip file's directory before ZIPFoundation reads it:
    /// - the end-of-central-directory record must be in the last 22 + 65 535 bytes. ZIPFoundation
    ///   looks for it one byte at a time from the end of the file, which takes 10–40 s on a
    ///   truncated 87 MB weights file; this reads the tail once and fails at once;
    /// - every 64-bit offset and size (zip64 end record, zip64 extra fields of the directory
    ///   entries) must be below 2^62. ZIPFoundation converts them to `off_t`/`Int64` and adds
    ///   them unchecked, so a corrupt value of 2^63 or more traps the process (found by fuzzing).
    static func requireSaneDirectory(_ url: URL, field: String, expected: String) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return }  // the caller reports unreadable files
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard offset <= size, UInt64(count) <= size - offset, (try? handle.seek(toOffset: offset)) != nil,
                  let data = try? handle.read(upToCount: count), data.count == count else { return nil }
            return [UInt8](data)
        }
        func u16(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> UInt64 { u16(b, i) | u16(b, i + 2) << 16 }
        func u64(_ b: [UInt8], _ i: Int) -> UInt64 { u32(b, i) | u32(b, i + 4) << 32 }
        let limit: UInt64 = 1 << 62
        func corrupt(_ what: String, _ value: UInt64) -> FormatError {
            FormatError(url, field: field, expected: expected, found: "a corrupt zip directory (\(what) \(value))")
        }

        let tailLength = min(size, 22 + 65_535)
        guard let tail = read(size - tailLength, Int(tailLength)),
              let at = (tail.count >= 4 ? Array(stride(from: tail.count - 4, through: 0, by: -1)) : []).first(where: {
                  tail[$0] == 0x50 && tail[$0 + 1] == 0x4B && tail[$0 + 2] == 0x05 && tail[$0 + 3] == 0x06 }) else {
            throw FormatError(url, field: field, expected: expected,
                              found: "no readable zip directory (truncated or not a zip file, \(size) bytes)")
        }
        let endRecord = size - tailLength + UInt64(at)
        var entries = UInt64(0), directory = UInt64(0)
        if let end = read(endRecord, 22) { entries = u16(end, 10); directory = u32(end, 16) }
        // zip64: a locator just before the end record, the zip64 end record before that.
        if endRecord >= 20 + 56, let locator = read(endRecord - 20, 20), u32(locator, 0) == 0x0706_4B50,
           let record = read(endRecord - 20 - 56, 56), u32(record, 0) == 0x0606_4B50 {
            for (what, offset) in [("entry count", 32), ("directory size", 40), ("directory offset", 48)] where u64(record, offset) >= limit {
                throw corrupt("zip64 " + what, u64(record, offset))
            }
            entries = u64(record, 32); directory = u64(record, 48)
        }
        // The directory entries, as ZIPFoundation walks them (it stops at the first unreadable one).
        var index = UInt64(0)
        while index < entries, let header = read(directory, 46), u32(header, 0) == 0x0201_4B50 {
            let nameLength = u16(header, 28), extraLength = u16(header, 30), commentLength = u16(header, 32)
            if let extra = read(directory + 46 + nameLength, Int(extraLength)) {
                var i = 0
                while i + 4 <= extra.count {
                    let id = u16(extra, i), length = Int(u16(extra, i + 2))
                    if id == 0x0001 {
                        var j = i + 4
                        while j + 8 <= min(extra.count, i + 4 + length) {
                            if u64(extra, j) >= limit { throw corrupt("zip64 size or offset of entry \(index)", u64(extra, j)) }
                            j += 8
                        }
                    }
                    i += 4 + length
                }
            }
            directory += 46 + nameLength + extraLength + commentLength
            index += 1
        }
    }

    /// A member's sizes must be possible for the file that holds it: stored members are as large
    /// as their data, deflate expands at most 1032:1. So a corrupt size field cannot make a
    /// reader allocate gigabytes for a file of kilobytes.
    static func checkSizes(_ entry: Entry, fileSize: UInt64, url: URL) throws {
        let compressed = entry.compressedSize, uncompressed = entry.uncompressedSize
        let (limit, overflow) = compressed.multipliedReportingOverflow(by: 1032)
        let possible = entry.isCompressed ? (overflow || uncompressed <= limit + 1024) : uncompressed == compressed
        guard compressed <= fileSize, possible else {
            throw FormatError(url, field: "zip member \(entry.path) size",
                              expected: entry.isCompressed ? "at most 1032× its \(compressed) compressed bytes, within the file's \(fileSize) bytes"
                                                           : "as many bytes as stored (\(compressed)), within the file's \(fileSize) bytes",
                              found: "\(uncompressed) bytes (corrupt zip directory)")
        }
    }

    static func fileSize(_ url: URL) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.uint64Value ?? 0
    }

    /// Reads a whole member, checking its CRC-32 (ZIPFoundation's consumer-based `extract`
    /// computes it but does not compare it) and its length.
    static func readMember(_ entry: Entry, archive: Archive, url: URL) throws -> [UInt8] {
        try checkSizes(entry, fileSize: fileSize(url), url: url)
        var out = [UInt8]()
        out.reserveCapacity(Int(entry.uncompressedSize))
        var crc = CRC32Accumulator()
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { data in
                guard out.count + data.count <= Int(entry.uncompressedSize) else {
                    throw FormatError(url, field: "zip member \(entry.path)", expected: "\(entry.uncompressedSize) bytes",
                                      found: "more data than the zip directory declares")
                }
                data.withUnsafeBytes { crc.update($0) }
                out += data
            }
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(url, field: "zip member \(entry.path)", expected: "a readable member",
                              found: "\(NpzFile.describeZipError(error, url: url)) (file truncated or corrupt?)")
        }
        guard out.count == Int(entry.uncompressedSize) else {
            throw FormatError(url, field: "zip member \(entry.path)", expected: "\(entry.uncompressedSize) bytes",
                              found: "\(out.count) bytes (file truncated?)")
        }
        guard crc.value == entry.checksum else {
            throw FormatError(url, field: "zip member \(entry.path) crc32", expected: String(format: "%08x", entry.checksum),
                              found: String(format: "%08x (corrupt data)", crc.value))
        }
        return out
    }
}
