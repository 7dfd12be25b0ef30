import Foundation

// Checks on the paths a user names, made before any long work starts, and the naming and
// clean-up of the temporary files our atomic writers leave when a run is killed.

/// A file a user named, opened for reading. A folder, a missing or an unreadable file is an
/// error naming `field` and what was `expected`.
public func openFileForReading(_ url: URL, field: String, expected: String) throws -> FileHandle {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw FormatError(url, field: field, expected: expected, found: "no such file")
    }
    guard !isDirectory.boolValue else { throw FormatError(url, field: field, expected: expected, found: "a folder") }
    guard let handle = FileHandle(forReadingAtPath: url.path) else {
        throw FormatError(url, field: field, expected: expected, found: "an unreadable file")
    }
    return handle
}

/// The first `count` bytes of a file (fewer when it is shorter); errors as `openFileForReading`.
public func readFileHead(_ url: URL, count: Int, field: String, expected: String) throws -> [UInt8] {
    let handle = try openFileForReading(url, field: field, expected: expected)
    defer { try? handle.close() }
    do {
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    } catch {
        throw FormatError(url, field: field, expected: expected, found: "a read error: \(error.localizedDescription)")
    }
}

/// Where a command's output goes, checked before the work: the folder must exist and be
/// writable, the path must not be a folder, and it must not be one of the inputs (writing the
/// output would replace them). Stale temporaries of killed runs in that folder are removed on
/// the way (see `StaleTemporaries`); the removed files are returned.
public enum OutputPath {
    @discardableResult
    public static func check(_ output: URL, option: String = "-o", inputs: [URL] = []) throws -> [URL] {
        let folder = output.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(output, field: "output (\(option))", expected: "a path in an existing folder",
                              found: "no folder \(folder.path) (create it first)")
        }
        guard access(folder.path, W_OK) == 0 else {
            throw FormatError(output, field: "output (\(option))", expected: "a writable folder", found: "\(folder.path) is not writable")
        }
        if FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FormatError(output, field: "output (\(option))", expected: "a file path", found: "a folder")
        }
        for input in inputs where sameFile(output, input) {
            throw FormatError(output, field: "output (\(option))", expected: "a path other than the input \(input.path)",
                              found: "the input itself (writing the output would replace it)")
        }
        return StaleTemporaries.remove(in: folder)
    }

    /// The same path once resolved, or the same file by device and inode (hard links, other spellings).
    static func sameFile(_ a: URL, _ b: URL) -> Bool {
        if a.standardizedFileURL.resolvingSymlinksInPath().path == b.standardizedFileURL.resolvingSymlinksInPath().path { return true }
        var sa = stat(), sb = stat()
        guard stat(a.path, &sa) == 0, stat(b.path, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}

/// Temporary files beside an output, named `.<name>.tmp-<pid>-<random>-<host>`: the writing
/// process and machine are in the name, so a later run can tell a temporary whose writer is
/// gone (killed, crashed) from one still being written — by another run on this machine, or on
/// another machine sharing the folder. Only the former are removed.
public enum StaleTemporaries {
    /// A fresh temporary path beside `url`; `tag` distinguishes several per output (".spatial").
    public static func path(beside url: URL, tag: String = "") -> URL {
        url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent)\(tag).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(host)")
    }

    /// What a command says for each temporary it removed (on stderr, so a user knows where space went).
    public static func removalNote(_ url: URL) -> String { "removed a stale temporary file of a stopped run: \(url.path)" }

    /// This machine's name as it appears in temporary names ("" when unknown).
    static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        let name = String(cString: buffer)
        return String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-" ? Character($0) : "_" })
    }()

    /// Whether a file name is one of our temporaries whose writer is gone.
    /// `.<name>.tmp-<pid>-<random>[-<host>]`: stale when written on this machine (or with no
    /// host, as before hosts were recorded) by a process that no longer exists.
    /// `.<name>.<UUID>.part` (spool files of earlier versions, no process id): stale when not
    /// modified for an hour (a live writer appends to it every batch).
    static func isStale(_ name: String, modified: Date?, now: Date = Date()) -> Bool {
        guard name.hasPrefix(".") else { return false }
        if let range = name.range(of: #"\.tmp-([0-9]{1,10})-([0-9]{1,10})(-[A-Za-z0-9._-]*)?$"#, options: .regularExpression) {
            let parts = name[range].dropFirst(".tmp-".count).split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let pid = Int32(parts[0]), pid > 0 else { return false }
            let writtenHere = parts.count < 3 || String(parts[2]) == host
            return writtenHere && !processExists(pid)
        }
        if name.range(of: #"\.[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.part$"#, options: .regularExpression) != nil {
            guard let modified else { return false }
            return now.timeIntervalSince(modified) > 3600
        }
        return false
    }

    static func processExists(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the stale temporaries directly in `folder` (not below it); returns what went.
    @discardableResult
    public static func remove(in folder: URL) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [URL] = []
        for name in names where name.hasPrefix(".") && (name.contains(".tmp-") || name.hasSuffix(".part")) {
            let url = folder.appendingPathComponent(name)
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            guard attributes?[.type] as? FileAttributeType == .typeRegular,
                  isStale(name, modified: attributes?[.modificationDate] as? Date) else { continue }
            if unlink(url.path) == 0 { removed.append(url) }
        }
        return removed
    }
}
