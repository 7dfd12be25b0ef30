import ArgumentParser
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// `dimr-eval features IMAGES -o OUT.npz`: Inception pool3 and spatial features of a batch of
/// images, optionally one shard of it (to spread a large batch over machines; `merge` joins them).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Inception features (pool3, spatial) of images.",
        discussion: """
        Writes OUT.npz with `pool` (N, 2048) float32 = pool3, `spatial` (N, 2023) float32 = mixed_6/conv \
        (Mixed_6d branch1x1) first 7 channels in H,W,C order (ADM's sFID layer), `index` (N) int64 = the \
        rows of IMAGES they belong to, and `meta` (uint8 JSON: layers, weights and their SHA-1, resize, shard). \
        A shard never uses the feature cache.
        """)

    @Argument(help: "An ADM .npz (arr_0 uint8 NHWC), a .npy, or a folder of JPEG/PNG images.")
    var images: String

    @Option(name: .shortAndLong, help: "Output .npz.")
    var output: String

    @Option(help: "Only shard i of n (0 ≤ i < n): the i-th of n runs of whole batches, so that the merge equals one pass with the same --batch-size byte for byte.")
    var shard: String?

    @OptionGroup var inception: InceptionOptions

    @Flag(help: "Print a JSON summary.") var json = false

    struct Summary: Codable {
        var output: String
        var images: Int
        var firstRow: Int
        var sourceImages: Int
        var seconds: Double
        var imagesPerSecond: Double
        var meta: FeaturesMeta
        var cache: FeatureCacheUse?
    }

    func validate() throws {
        if let shard { _ = try ShardSpec(shard) }
    }

    func run() throws {
        let started = Date()
        let out = try checkedOutput(output, inputs: [images])
        let source = try openImageSource(URL(fileURLWithPath: images))
        let spec = try shard.map(ShardSpec.init) ?? ShardSpec(index: 0, count: 1)
        let batchSize = inception.batchSize
        let rows = spec.rows(of: source.count, batchSize: batchSize)
        guard !rows.isEmpty else {
            throw ValidationError("shard \(spec) of \(source.count) images in batches of \(batchSize) is empty: use fewer shards or a smaller --batch-size")
        }
        // Whole inputs go through the feature cache; a shard is one machine's part of a job.
        let provider = try inception.provider(cached: shard == nil)
        let index = rows.map(Int64.init)
        // An ADM batch's labels travel with its features (for `eval`'s label accuracy).
        let labels = try EvalInput(source.url).labels().map { all in
            guard all.count == source.count else {
                throw FormatError(source.url, field: "arr_1", expected: "one label per image (\(source.count))", found: "\(all.count) labels")
            }
            return rows.map { Int64(all[$0]) }
        }
        var cacheUse: FeatureCacheUse?
        var entry: FeaturesFileWriter?
        var key: FeatureCache.Key?
        if let cache = provider.cache {
            let k = FeatureCache.Key(contentSHA1: try FeatureCache.contentSHA1(of: source.url), weightsSHA1: try provider.weightsSHA1(),
                                     resize: inception.resize, batchSize: batchSize)
            key = k
            if let hit = cache.lookup(k, count: source.count) {
                do {
                    let recorded = Preprocessing(meta: try FeaturesFile.meta(hit))
                    let meta = FeaturesMeta(preprocessing: try provider.preprocessing(), weightsFormat: recorded?.weightsFormat, batchSize: batchSize,
                                            source: source.url.path, sourceImages: source.count, shard: nil, rows: rows)
                    let writer = try FeaturesFileWriter(url: out, count: rows.count)
                    do {
                        try hit.streamRows("pool", rowsPerChunk: 1024) { _, _, bytes in try writer.append(poolBytes: bytes) }
                        try hit.streamRows("spatial", rowsPerChunk: 1024) { _, _, bytes in try writer.append(spatialBytes: bytes) }
                        try writer.finish(index: index, meta: try meta.jsonData(), labels: labels)
                    } catch {
                        writer.cancel()
                        throw error
                    }
                    return try report(out, rows: rows, source: source, meta: meta, started: started,
                                      cache: FeatureCacheUse(status: .hit, entry: hit.url.path))
                } catch {
                    cache.discard(hit.url, because: "\(error)")
                }
            }
            entry = try? cache.writer(for: k, count: source.count)
            cacheUse = FeatureCacheUse(status: entry == nil ? .tooLarge : .stored, entry: entry?.url.path)
        }
        let extractor = try provider.get()
        let meta = FeaturesMeta(preprocessing: try provider.preprocessing(), weightsFormat: extractor.weightsFormat.rawValue, batchSize: batchSize,
                                source: source.url.path, sourceImages: source.count, shard: shard == nil ? nil : spec.description, rows: rows)
        let writer = try FeaturesFileWriter(url: out, count: rows.count)
        do {
            try extractor.extract(ShardSource(source, rows: rows), progress: true) { batch in
                try writer.append(pool: batch.pool, spatial: batch.spatial)
                do { try entry?.append(pool: batch.pool, spatial: batch.spatial) } catch {
                    entry?.cancel(); entry = nil
                    cacheUse = FeatureCacheUse(status: .failed, entry: nil, note: "\(error)")
                }
            }
            try writer.finish(index: index, meta: try meta.jsonData(), labels: labels)
        } catch {
            writer.cancel()
            entry?.cancel()
            throw error
        }
        if let cache = provider.cache, let entry, let key {
            do {
                try cache.store(entry, key: key, source: source.url, count: source.count, preprocessing: try provider.preprocessing())
            } catch {
                entry.cancel()
                cacheUse = FeatureCacheUse(status: .failed, entry: nil, note: "\(error)")
            }
        }
        try report(out, rows: rows, source: source, meta: meta, started: started, cache: cacheUse)
    }

    private func report(_ out: URL, rows: Range<Int>, source: any ImageSource, meta: FeaturesMeta, started: Date,
                        cache: FeatureCacheUse?) throws {
        let seconds = Date().timeIntervalSince(started)
        let summary = Summary(output: out.path, images: rows.count, firstRow: rows.lowerBound, sourceImages: source.count,
                              seconds: seconds, imagesPerSecond: Double(rows.count) / seconds, meta: meta, cache: cache)
        if json { print(try jsonText(summary, style: .document)); return }
        print("wrote \(out.path): pool (\(rows.count), 2048), spatial (\(rows.count), 2023)"
              + (shard == nil ? "" : ", rows \(rows.lowerBound)..<\(rows.upperBound) of \(source.count)")
              + String(format: " in %.1f s (%.1f img/s)", seconds, summary.imagesPerSecond)
              + (cache?.status == .hit ? " from the feature cache" : ""))
    }
}

/// What a features file records about how it was made, so a reader can refuse features from a
/// different layer, network or preprocessing. Stored as JSON in the `meta` array.
struct FeaturesMeta: Codable {
    var tool = "dimr-eval features"
    var version = dimrEvalVersion
    var layers = ["pool": "pool_3: Mixed_7c 8x8 average pool (2048)",
                  "spatial": "mixed_6/conv: Mixed_6d branch1x1, channels 0..<7, H,W,C order (17*17*7 = 2023)"]
    var network = "FID Inception-v3 2015-12-05"
    var weights: String
    var weightsFormat: String
    var weightsSHA1: String
    var resize: String
    var preprocessingVersion: Int
    /// Images per network batch: features move in the last bits with it (see `ShardSpec.rows`).
    var batchSize: Int
    var source: String
    var sourceImages: Int
    var shard: String?
    var firstRow: Int
    var rows: Int

    init(preprocessing: Preprocessing, weightsFormat: String?, batchSize: Int, source: String, sourceImages: Int, shard: String?, rows: Range<Int>) {
        self.batchSize = batchSize
        weights = preprocessing.weights ?? "unknown"
        self.weightsFormat = weightsFormat ?? "unknown"
        weightsSHA1 = preprocessing.weightsSHA1 ?? "unknown"
        resize = preprocessing.resize ?? "unknown"
        preprocessingVersion = preprocessing.preprocessingVersion ?? FeatureExtractor.preprocessingVersion
        self.source = source
        self.sourceImages = sourceImages
        self.shard = shard
        firstRow = rows.lowerBound
        self.rows = rows.count
    }

    func jsonData() throws -> Data {
        try encodeJSON(self, style: .line)
    }
}

/// "i/n": shard i (0-based) of n.
struct ShardSpec: CustomStringConvertible {
    var index: Int
    var count: Int

    init(index: Int, count: Int) { self.index = index; self.count = count }

    init(_ text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, i >= 0, i < n else {
            throw ValidationError("--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got '\(text)'")
        }
        index = i; count = n
    }

    /// Shards are cut between batches: batch b of the whole set is ⌊b·n/B⌋'s, B = ⌈N/batchSize⌉. An
    /// image's float32 features depend in the last bits on how many images share its batch (up to
    /// 1.5e-5 measured: the GEMM shapes change), so only batches identical to a single pass's give
    /// that pass's features exactly.
    func rows(of total: Int, batchSize: Int) -> Range<Int> {
        let batches = (total + batchSize - 1) / batchSize
        func start(_ i: Int) -> Int { min(total, (batches * i / count) * batchSize) }
        return start(index)..<start(index + 1)
    }
    var description: String { "\(index)/\(count)" }
}

/// The rows `rows` of a source. Folders decode only those files; arrays read past the others.
struct ShardSource: ImageSource {
    let base: any ImageSource
    let rows: Range<Int>
    var url: URL { base.url }
    var count: Int { rows.count }
    var labels: [Int]? { base.labels.map { Array($0[rows]) } }

    init(_ base: any ImageSource, rows: Range<Int>) { self.base = base; self.rows = rows }

    func forEachBatch(size: Int, _ body: (Int, [RGBImage]) throws -> Void) throws {
        if rows == 0..<base.count { return try base.forEachBatch(size: size, body) }
        if let folder = base as? ImageFolderSource {
            var start = rows.lowerBound
            while start < rows.upperBound {
                let end = min(start + size, rows.upperBound)
                let files = Array(folder.files[start..<end])
                var decoded = [Result<RGBImage, Error>?](repeating: nil, count: files.count)
                decoded.withUnsafeMutableBufferPointer { out in
                    let slots = UncheckedSendable(out)
                    parallelFor(files.count) { i in slots.value[i] = Result { try readImage(files[i]) } }
                }
                try body(start - rows.lowerBound, try decoded.map { try $0!.get() })
                start = end
            }
            return
        }
        var pending: [RGBImage] = [], pendingStart = 0
        do {
            try base.forEachBatch(size: size) { start, images in
                for (k, image) in images.enumerated() where rows.contains(start + k) {
                    if pending.isEmpty { pendingStart = start + k - rows.lowerBound }
                    pending.append(image)
                    if pending.count == size { try body(pendingStart, pending); pending = [] }
                }
                if start + images.count >= rows.upperBound { throw PastTheShard() }
            }
        } catch is PastTheShard {}
        if !pending.isEmpty { try body(pendingStart, pending) }
    }

    private struct PastTheShard: Error {}
}
