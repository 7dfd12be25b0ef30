import Foundation
import InceptionNet
import TensorIO

/// Inception features of image inputs, kept so that the same images are never run through the
/// network twice (a reference scored against every checkpoint of a run, 50 folders against one
/// reference). An entry is keyed by
/// - the SHA-1 of the input's image bytes (an npz's `arr_0` header and data — not the zip around
///   it, whose timestamps change when identical arrays are saved again —, an npy file's bytes, or
///   a folder's relative file names and bytes in reading order),
/// - the SHA-1 of the weights file, the resize mode, `FeatureExtractor.preprocessingVersion` and
///   the batch size (an image's float32 features move in the last bits, up to ~1.5e-5, with the
///   number of images sharing its batch; with it in the key a hit is bit-identical to computing),
/// and is itself a features file (`pool`, `spatial`, `meta` naming the key and the source), so any
/// command that reads features accepts it. Entries appear atomically (temporary file + rename);
/// one that is unreadable or fails its CRC is ignored, removed and computed again. Reads refresh an
/// entry's modification time, and after each write the least recently used entries are removed
/// until the folder holds at most `maxBytes`.
///
/// Root: `$DIMR_EVAL_CACHE/features` or `~/.cache/dimr-eval/features`; size limit:
/// `$DIMR_EVAL_CACHE_MAX` ("4G", "500M", bytes), 4 GiB by default.
public final class FeatureCache {
    /// Version of the key and entry layout.
    public static let formatVersion = 1
    public static let defaultMaxBytes: Int64 = 4 << 30

    public let root: URL
    public let maxBytes: Int64

    public static var defaultRoot: URL { WeightsLocator.cacheDirectory.appendingPathComponent("features") }

    public init(root: URL = FeatureCache.defaultRoot, maxBytes: Int64? = nil) throws {
        self.root = root
        self.maxBytes = try maxBytes ?? Self.maxBytesFromEnvironment()
    }

    /// `DIMR_EVAL_CACHE_MAX`: bytes, or a number with K, M, G or T (powers of 1024).
    static func maxBytesFromEnvironment() throws -> Int64 {
        guard let text = ProcessInfo.processInfo.environment["DIMR_EVAL_CACHE_MAX"], !text.isEmpty else { return defaultMaxBytes }
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        var scale: Int64 = 1
        if let last = digits.last, let unit = units[last] { scale = unit; digits.removeLast() }
        guard let value = Double(digits), value >= 0 else {
            throw FormatError(file: "$DIMR_EVAL_CACHE_MAX", field: "value", expected: "a size such as 4G, 500M or 1000000", found: text)
        }
        return Int64(value * Double(scale))
    }

    public struct Key: Sendable, Equatable {
        public var contentSHA1: String
        public var weightsSHA1: String
        public var resize: ResizeMode
        public var batchSize: Int
        public var preprocessingVersion: Int

        public init(contentSHA1: String, weightsSHA1: String, resize: ResizeMode, batchSize: Int,
                    preprocessingVersion: Int = FeatureExtractor.preprocessingVersion) {
            self.contentSHA1 = contentSHA1; self.weightsSHA1 = weightsSHA1
            self.resize = resize; self.batchSize = batchSize; self.preprocessingVersion = preprocessingVersion
        }

        /// The entry's file name (without .npz): SHA-1 of every part of the key.
        public var name: String {
            var sha = SHA1()
            sha.update("dimr-eval features v\(FeatureCache.formatVersion)|content \(contentSHA1)|weights \(weightsSHA1)"
                       + "|resize \(resize.rawValue)|batch \(batchSize)|preprocessing \(preprocessingVersion)")
            return sha.finalHex()
        }
    }

    /// SHA-1 of the bytes that decide the features of the images at `url`.
    public static func contentSHA1(of url: URL) throws -> String {
        var sha = SHA1()
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            let folder = try ImageFolderSource(url)
            let prefix = url.standardizedFileURL.path + "/"
            sha.update("folder of \(folder.files.count) images\n")
            for file in folder.files {
                let path = file.standardizedFileURL.path
                sha.update((path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : file.lastPathComponent) + "\n")
                try hashFile(file, into: &sha)
            }
        } else if url.pathExtension.lowercased() == "npz" {
            let npz = try NpzFile(contentsOf: url)
            let header = try npz.header("arr_0")
            sha.update("npz arr_0 \(header.dtype) \(header.shape)\n")
            try npz.streamRows("arr_0", rowsPerChunk: 256) { _, _, bytes in sha.update(bytes) }
        } else {
            sha.update("file\n")
            try hashFile(url, into: &sha)
        }
        return sha.finalHex()
    }

    private static func hashFile(_ url: URL, into sha: inout SHA1) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw FormatError(url, field: "read", expected: "a readable file", found: "cannot open it")
        }
        defer { try? handle.close() }
        var length = 0
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            length += chunk.count
            chunk.withUnsafeBytes { sha.update($0) }
        }
        sha.update("\n\(length)\n")
    }

    public func entryURL(_ key: Key) -> URL { root.appendingPathComponent(key.name + ".npz") }

    /// Bytes an entry of `count` images takes (pool and spatial float32 rows; meta is small).
    public static func entryBytes(count: Int) -> Int64 {
        Int64(count) * Int64(InceptionV3.poolDimension + InceptionV3.spatialDimension) * 4
    }

    /// The entry for `key` when it exists and is a features file of `count` images naming the
    /// key; its modification time is refreshed (LRU). A damaged entry is removed and nil returned.
    /// The data's CRC is checked while the caller streams it: on a failure call `discard`.
    public func lookup(_ key: Key, count: Int) -> NpzFile? {
        let url = entryURL(key)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let npz = try NpzFile(contentsOf: url)
            let rows = try FeaturesFile.check(npz)
            guard npz.contains("spatial"), rows == count else {
                throw FormatError(url, field: "pool", expected: "\(count) images with spatial features", found: "\(rows) rows")
            }
            guard let meta = try FeaturesFile.meta(npz), meta["cacheKey"] as? String == key.name else {
                throw FormatError(url, field: "meta.cacheKey", expected: key.name, found: "another key or none")
            }
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
            return npz
        } catch {
            discard(url, because: "\(error)")
            return nil
        }
    }

    /// Removes a damaged entry, saying so on stderr; the features are then computed again.
    public func discard(_ url: URL, because reason: String) {
        FileHandle.standardError.write(Data("feature cache: ignoring the damaged entry \(url.path) (\(reason)); computing the features again\n".utf8))
        try? FileManager.default.removeItem(at: url)
    }

    /// A writer for the entry of `key`, or nil when an entry of `count` images would not fit
    /// in the cache at all. `finish` it with `store(_:key:source:count:preprocessing:)`.
    public func writer(for key: Key, count: Int) throws -> FeaturesFileWriter? {
        guard Self.entryBytes(count: count) <= maxBytes else { return nil }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return try FeaturesFileWriter(url: entryURL(key), count: count)
    }

    /// Completes an entry written with `writer(for:count:)`, then evicts least recently used
    /// entries beyond `maxBytes`.
    public func store(_ writer: FeaturesFileWriter, key: Key, source: URL, count: Int, preprocessing: Preprocessing) throws {
        var meta = preprocessing.metaFields
        meta["tool"] = "dimr-eval feature cache"
        meta["cacheKey"] = key.name
        meta["contentSHA1"] = key.contentSHA1
        meta["source"] = source.standardizedFileURL.path
        meta["images"] = count
        meta["batchSize"] = key.batchSize
        meta["created"] = ISO8601DateFormatter().string(from: Date())
        try writer.finish(index: nil, meta: try encodeJSONObject(meta))
        evict(keeping: writer.url)
    }

    public struct Entry: Codable, Sendable {
        public var file: String
        public var bytes: Int64
        public var lastUsed: Date
        public var images: Int?
        public var source: String?
        public var resize: String?
        public var weightsSHA1: String?

        enum CodingKeys: String, CodingKey {
            case file, bytes, lastUsed = "last_used", images, source, resize, weightsSHA1 = "weights_sha1"
        }
    }

    /// Every entry, most recently used first (what `meta` says of each, when it is readable).
    public func entries() -> [Entry] {
        files().map { file in
            var entry = Entry(file: file.url.path, bytes: file.bytes, lastUsed: file.modified)
            if let npz = try? NpzFile(contentsOf: file.url), let meta = try? FeaturesFile.meta(npz) {
                entry.images = (meta["images"] as? NSNumber)?.intValue
                entry.source = meta["source"] as? String
                entry.resize = meta["resize"] as? String
                entry.weightsSHA1 = meta["weightsSHA1"] as? String
            }
            return entry
        }.sorted { $0.lastUsed > $1.lastUsed }
    }

    /// Removes every entry (and temporary files of interrupted writes); returns files and bytes removed.
    @discardableResult
    public func clear() -> (files: Int, bytes: Int64) {
        var removed = 0, bytes: Int64 = 0
        for file in files(includingTemporary: true) where (try? FileManager.default.removeItem(at: file.url)) != nil {
            removed += 1; bytes += file.bytes
        }
        return (removed, bytes)
    }

    /// Oldest-used entries go first until the total is at most `maxBytes`; `keeping` stays.
    /// Temporary files of writes interrupted more than a day ago are removed too.
    func evict(keeping: URL?) {
        let dayAgo = Date().addingTimeInterval(-86_400)
        for file in files(includingTemporary: true) where file.url.lastPathComponent.hasPrefix(".") && file.modified < dayAgo {
            try? FileManager.default.removeItem(at: file.url)
        }
        var entries = files().sorted { $0.modified < $1.modified }
        var total = entries.reduce(Int64(0)) { $0 + $1.bytes }
        while total > maxBytes, !entries.isEmpty {
            let oldest = entries.removeFirst()
            if oldest.url.standardizedFileURL == keeping?.standardizedFileURL { continue }
            if (try? FileManager.default.removeItem(at: oldest.url)) != nil { total -= oldest.bytes }
        }
    }

    private func files(includingTemporary: Bool = false) -> [(url: URL, bytes: Int64, modified: Date)] {
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey]
        let all = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: keys)) ?? []
        return all.compactMap { url in
            let name = url.lastPathComponent
            guard includingTemporary || (!name.hasPrefix(".") && url.pathExtension == "npz") else { return nil }
            let values = try? url.resourceValues(forKeys: Set(keys))
            return (url, Int64(values?.fileSize ?? 0), values?.contentModificationDate ?? .distantPast)
        }
    }
}
