import Foundation
import ZIPFoundation

/// Checks made before and while reading zip archives (npz files, PyTorch and TorchScript zips),
/// so that a damaged archive is refused quickly, clearly and without large allocations.
enum ZipChecks {
    /// The end-of-central-directory record sits in the last 22 + 65 535 bytes of a zip file.
    /// ZIPFoundation looks for it one byte at a time from the end of the file, which takes
    /// 10–40 s on a truncated 87 MB weights file; this reads the tail once and fails at once.
    static func requireEndRecord(_ url: URL, field: String, expected: String) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return }  // the caller reports unreadable files
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return }
        let tailLength = min(size, 22 + 65_535)
        guard (try? handle.seek(toOffset: size - tailLength)) != nil,
              let tail = try? handle.read(upToCount: Int(tailLength)) else { return }
        let bytes = [UInt8](tail)
        if bytes.count >= 4 {
            for i in stride(from: bytes.count - 4, through: 0, by: -1)
            where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 {
                return
            }
        }
        throw FormatError(url, field: field, expected: expected,
                          found: "no readable zip directory (truncated or not a zip file, \(size) bytes)")
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
