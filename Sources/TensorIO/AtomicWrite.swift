import Foundation

/// Writes `data` to a temporary file beside `url` and renames it into place, so a reader never
/// sees half a file and a crash leaves the old file (or nothing) behind.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let writer = try AtomicFileWriter(url)
    try data.withUnsafeBytes { try writer.write($0) }
    try writer.commit()
}

/// Same, for bytes already in an array.
public func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
    let writer = try AtomicFileWriter(url)
    try bytes.withUnsafeBytes { try writer.write($0) }
    try writer.commit()
}

/// The streaming variant: write pieces as they are produced, then `commit()` renames the temporary
/// file onto `url`. If the writer is dropped without `commit()` (an error, a cancelled run) the
/// temporary file is removed and `url` is untouched.
public final class AtomicFileWriter {
    public let url: URL
    public let temporaryURL: URL
    private var file: UnsafeMutablePointer<FILE>?
    /// Bytes written so far (the position at the end of the file).
    public private(set) var bytesWritten: Int64 = 0

    public init(_ url: URL) throws {
        self.url = url
        let dir = url.deletingLastPathComponent()
        temporaryURL = StaleTemporaries.path(beside: url)
        guard let f = fopen(temporaryURL.path, "wb") else {
            throw FormatError(url, field: "write", expected: "a writable location",
                              found: "cannot create \(temporaryURL.lastPathComponent) in \(dir.path): \(String(cString: strerror(errno)))")
        }
        file = f
    }

    deinit { abort() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file else { throw closedError() }
        if bytes.isEmpty { return }
        if fwrite(bytes.baseAddress!, 1, bytes.count, file) != bytes.count {
            throw FormatError(url, field: "write", expected: "\(bytes.count) bytes written",
                              found: "write failed: \(String(cString: strerror(errno)))")
        }
        bytesWritten += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Overwrites bytes already written at `offset` (for headers whose values are known only at the end),
    /// then returns to the end of the file.
    public func patch(at offset: Int64, _ bytes: [UInt8]) throws {
        guard let file else { throw closedError() }
        precondition(offset >= 0 && offset + Int64(bytes.count) <= bytesWritten, "patch outside the written range")
        fflush(file)
        guard fseeko(file, off_t(offset), SEEK_SET) == 0,
              bytes.withUnsafeBytes({ fwrite($0.baseAddress!, 1, $0.count, file) }) == bytes.count,
              fseeko(file, 0, SEEK_END) == 0 else {
            throw FormatError(url, field: "write", expected: "a seekable file", found: String(cString: strerror(errno)))
        }
    }

    /// Flushes to disk and renames the temporary file onto `url`.
    public func commit() throws {
        guard let file else { throw closedError() }
        self.file = nil
        let ok = fflush(file) == 0 && fsync(fileno(file)) == 0
        let err = errno
        fclose(file)
        guard ok else {
            unlink(temporaryURL.path)
            throw FormatError(url, field: "write", expected: "data flushed to disk", found: String(cString: strerror(err)))
        }
        if rename(temporaryURL.path, url.path) != 0 {
            let err = errno
            unlink(temporaryURL.path)
            throw FormatError(url, field: "write", expected: "the finished file renamed into place",
                              found: String(cString: strerror(err)))
        }
    }

    /// Drops the temporary file; `url` is untouched. Safe to call more than once.
    public func abort() {
        if let file {
            fclose(file)
            unlink(temporaryURL.path)
            self.file = nil
        }
    }

    private func closedError() -> FormatError {
        FormatError(url, field: "write", expected: "an open writer", found: "already committed or aborted")
    }
}
