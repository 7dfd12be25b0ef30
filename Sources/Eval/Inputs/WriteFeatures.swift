import Foundation
import TensorIO

extension FeaturesFile {
    /// What `write` wrote: the rows of the source, the file's `meta`, and how the cache served it.
    public struct Written {
        public var rows: Range<Int>
        public var meta: FeaturesMeta
        public var cache: FeatureCacheUse?
    }

    /// `dimr-eval features`: writes the features file of `source` (or of its rows `shard.rows`)
    /// to `out`, with `index` (each row's position in the source), `meta` and, for an ADM batch
    /// with labels, its `arr_1`. A whole source goes through `provider`'s feature cache when it
    /// has one (a hit is copied, not computed); a shard, one machine's part of a job, never does.
    /// The shard must hold rows (`ShardSpec.rows` not empty).
    public static func write(_ source: any ImageSource, shard: ShardSpec?, provider: ExtractorProvider, to out: URL) throws -> Written {
        let batchSize = provider.batchSize
        let rows = (shard ?? ShardSpec(index: 0, count: 1)).rows(of: source.count, batchSize: batchSize)
        guard !rows.isEmpty else {
            throw FormatError(source.url, field: "shard \(shard.map(\.description) ?? "")",
                              expected: "at least one batch of \(batchSize) images", found: "none of \(source.count) images")
        }
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
        let cache = shard == nil ? provider.cache : nil
        if let cache {
            let k = FeatureCache.Key(contentSHA1: try FeatureCache.contentSHA1(of: source.url), weightsSHA1: try provider.weightsSHA1(),
                                     resize: provider.resize, batchSize: batchSize)
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
                    return Written(rows: rows, meta: meta, cache: FeatureCacheUse(status: .hit, entry: hit.url.path))
                } catch {
                    cache.discard(hit.url, because: "\(error)")
                }
            }
            entry = try? cache.writer(for: k, count: source.count)
            cacheUse = FeatureCacheUse(status: entry == nil ? .tooLarge : .stored, entry: entry?.url.path)
        }
        let extractor = try provider.get()
        let meta = FeaturesMeta(preprocessing: try provider.preprocessing(), weightsFormat: extractor.weightsFormat.rawValue, batchSize: batchSize,
                                source: source.url.path, sourceImages: source.count, shard: shard?.description, rows: rows)
        let writer = try FeaturesFileWriter(url: out, count: rows.count)
        do {
            try extractor.extract(ShardSource(source, rows: rows), progress: provider.progress) { batch in
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
        if let cache, let entry, let key {
            do {
                try cache.store(entry, key: key, source: source.url, count: source.count, preprocessing: try provider.preprocessing())
            } catch {
                entry.cancel()
                cacheUse = FeatureCacheUse(status: .failed, entry: nil, note: "\(error)")
            }
        }
        return Written(rows: rows, meta: meta, cache: cacheUse)
    }
}
