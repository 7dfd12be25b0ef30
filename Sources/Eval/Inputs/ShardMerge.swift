import Foundation
import InceptionNet
import TensorIO

/// Combines the outputs of `dimr-eval features --shard i/n` (or partial statistics) run anywhere
/// into what one pass would have produced:
/// - all parts features files → one features file, rows in `index` order (shards must not
///   overlap; the `meta` of every part must agree on everything but the shard itself);
/// - any statistics among the parts → one statistics file, merged from float64 sums exactly
///   (features parts contribute their moments), so FID of the merge equals FID of one pass.
public enum ShardMerge {
    public enum Output: String, Codable { case features, statistics }

    public struct Summary: Codable {
        public var output: Output
        public var parts: Int
        public var count: Int
    }

    /// Meta keys that legitimately differ between shards (`firstRow`/`rows`: what `features --shard` records).
    static let shardKeys: Set<String> = ["shard", "shards", "shard_index", "shard_count", "index", "range", "start", "end",
                                         "count", "images", "seconds", "elapsed", "created", "time", "date", "host", "rate",
                                         "firstRow", "rows"]

    public static func merge(_ parts: [URL], to output: URL) throws -> Summary {
        guard !parts.isEmpty else { throw MetricError("merge needs at least one part") }
        let inputs = try parts.map { try EvalInput($0) }
        for input in inputs where !input.hasFeatures && !input.hasStatistics {
            throw FormatError(input.url, field: "pool / mu", expected: "a features file (pool, spatial) or a statistics file (mu, sigma, count)",
                              found: "images only (run `dimr-eval features` or `stats` on it first)")
        }
        if inputs.allSatisfy({ $0.hasFeatures && !$0.hasStatistics }) {
            return try mergeFeatures(parts, to: output)
        }
        return try mergeStatistics(inputs, to: output)
    }

    static func mergeStatistics(_ inputs: [EvalInput], to output: URL) throws -> Summary {
        var pool: FeatureMoments?, spatial: FeatureMoments?
        var spatialEverywhere = true
        // The merge records the parts' preprocessing when every part records the same.
        var records: [Preprocessing?] = [], firstKnown: (url: URL, resize: String)?
        for input in inputs {
            let part: (pool: FeatureMoments, spatial: FeatureMoments?)
            let statistics = input.hasStatistics ? try StatisticsFile.read(input.url) : nil
            let record = statistics.map(\.preprocessing) ?? input.recorded
            if let resize = record?.resize {
                if let (firstURL, first) = firstKnown, first != resize {
                    throw FormatError(input.url, field: "meta.resize", expected: "\(first) as in \(firstURL.lastPathComponent)",
                                      found: "\(resize) (statistics of different preprocessing cannot be merged)")
                }
                if firstKnown == nil { firstKnown = (input.url, resize) }
            }
            records.append(record)
            if let statistics {
                part = try statistics.moments(input.url)
            } else {
                let loaded = try input.features(ExtractorProvider(progress: false))
                part = (loaded.poolMoments, loaded.spatialMoments)
            }
            if let p = pool, p.dimension != part.pool.dimension {
                throw FormatError(input.url, field: "mu", expected: "dimension \(p.dimension) like the other parts", found: "\(part.pool.dimension)")
            }
            pool = try pool.map { try $0.merged(with: part.pool) } ?? part.pool
            if let s = part.spatial, spatialEverywhere {
                spatial = try spatial.map { try $0.merged(with: s) } ?? s
            } else {
                spatialEverywhere = false
                spatial = nil
            }
        }
        var file = try StatisticsFile(pool: pool!, spatial: spatial)
        file.preprocessing = records.allSatisfy { $0 == records[0] } ? records[0] : nil
        try file.write(to: output)
        return Summary(output: .statistics, parts: inputs.count, count: pool!.count)
    }

    static func mergeFeatures(_ parts: [URL], to output: URL) throws -> Summary {
        // First the small things of every part (shapes, meta, index), all checked before writing.
        struct Part { let npz: NpzFile; let index: [Int64]; let float32: Bool; let hasSpatial: Bool; let labels: [Int64]? }
        var infos: [Part] = [], metaReference: (URL, [String: Any])?, rowsSoFar = 0
        for url in parts {
            let npz = try NpzFile(contentsOf: url)
            let n = try FeaturesFile.check(npz)
            if let meta = try FeaturesFile.meta(npz) {
                if let (firstURL, first) = metaReference {
                    for key in Set(first.keys).union(meta.keys) where !shardKeys.contains(key) {
                        let a = first[key].map(canonicalJSON) ?? "absent", b = meta[key].map(canonicalJSON) ?? "absent"
                        if a != b {
                            throw FormatError(url, field: "meta.\(key)", expected: "\(a) as in \(firstURL.lastPathComponent)",
                                              found: "\(b) (shards made with different settings cannot be merged)")
                        }
                    }
                } else {
                    metaReference = (url, meta)
                }
            }
            let index = npz.contains("index") ? try npz.array("index").asInt64() : (0..<n).map { Int64(rowsSoFar + $0) }
            rowsSoFar += n
            let hasSpatial = npz.contains("spatial")
            let float32 = try npz.header("pool").dtype == .float32 && (!hasSpatial || npz.header("spatial").dtype == .float32)
            // The labels of an ADM batch's shard (`arr_1`, for label accuracy) travel with its rows.
            let labels = try EvalInput.labels(in: npz, of: url)?.map(Int64.init)
            if let labels, labels.count != n {
                throw FormatError(url, field: "arr_1", expected: "one label per row (\(n))", found: "\(labels.count) labels")
            }
            if let first = infos.first, (first.labels == nil) != (labels == nil) {
                let (with, without) = labels == nil ? (parts[0], url) : (url, parts[0])
                throw FormatError(without, field: "arr_1", expected: "labels, as \(with.lastPathComponent) has (the merge would drop them)",
                                  found: "none")
            }
            infos.append(Part(npz: npz, index: index, float32: float32, hasSpatial: hasSpatial, labels: labels))
        }
        let index = infos.flatMap(\.index)
        // Rows in index order; shards must not overlap.
        let order = index.indices.sorted { index[$0] < index[$1] }
        for (a, b) in zip(order, order.dropFirst()) where index[a] == index[b] {
            throw MetricError("image \(index[a]) appears in more than one part: the shards overlap")
        }
        let n = index.count, hasSpatial = infos.allSatisfy(\.hasSpatial)
        var extras: [(String, NpyArray)] = [("index", NpyArray(int64: order.map { index[$0] }, shape: [n]))]
        if infos.allSatisfy({ $0.labels != nil }) {
            let labels = infos.flatMap { $0.labels! }
            extras.append(("arr_1", NpyArray(int64: order.map { labels[$0] }, shape: [n])))
        }
        if var meta = metaReference?.1 {
            for key in shardKeys { meta[key] = nil }
            meta["merged_from"] = parts.count
            let data = try encodeJSONObject(meta)
            extras.append(("meta", NpyArray(uint8: Array(data), shape: [data.count])))
        }

        // What `--shard i/n` makes (rows increasing within a part, parts not interleaved) is copied
        // block by block in part order: memory stays bounded however many images there are.
        let byStart = infos.indices.sorted { (infos[$0].index.first ?? 0) < (infos[$1].index.first ?? 0) }
        let increasing = infos.allSatisfy { part in zip(part.index, part.index.dropFirst()).allSatisfy { $0 < $1 } }
        let separate = zip(byStart, byStart.dropFirst()).allSatisfy { a, b in
            guard let last = infos[a].index.last, let first = infos[b].index.first else { return true }
            return last < first
        }
        if increasing && separate && infos.allSatisfy(\.float32) {
            let writer = try NpzStreamWriter(url: output, name: "pool", dtype: .float32, shape: [n, InceptionV3.poolDimension])
            do {
                let spatial = hasSpatial ? try writer.spool(name: "spatial", dtype: .float32, shape: [n, InceptionV3.spatialDimension]) : nil
                for p in byStart {
                    try infos[p].npz.streamRows("pool", rowsPerChunk: 1024) { _, _, bytes in try writer.append(bytes: bytes) }
                    if let spatial {
                        try infos[p].npz.streamRows("spatial", rowsPerChunk: 1024) { _, _, bytes in try spatial.append(bytes: bytes) }
                    }
                }
                try writer.finish(extras: extras)
            } catch {
                writer.cancel()
                throw error
            }
            return Summary(output: .features, parts: parts.count, count: n)
        }

        // Otherwise (hand-made parts in any order, float64 features): gather and reorder in memory.
        func gathered(_ name: String, _ d: Int) throws -> [Float] {
            var values: [Float] = []
            for part in infos { values += try part.npz.array(name).asFloats() }
            var out = [Float](repeating: 0, count: values.count)
            for (row, source) in order.enumerated() {
                for j in 0..<d { out[row * d + j] = values[source * d + j] }
            }
            return out
        }
        var arrays: [(String, NpyArray)] = [("pool", NpyArray(floats: try gathered("pool", InceptionV3.poolDimension),
                                                               shape: [n, InceptionV3.poolDimension]))]
        if hasSpatial {
            arrays.append(("spatial", NpyArray(floats: try gathered("spatial", InceptionV3.spatialDimension),
                                               shape: [n, InceptionV3.spatialDimension])))
        }
        try writeNpz(arrays + extras, to: output)
        return Summary(output: .features, parts: parts.count, count: n)
    }
}

/// A JSON value as sorted-key text, so that two shards' `meta` compare equal however each
/// process ordered its dictionaries (a dictionary's description follows a per-process hash seed).
private func canonicalJSON(_ value: Any) -> String {
    (try? jsonObjectText([value])) ?? "\(value)"
}
