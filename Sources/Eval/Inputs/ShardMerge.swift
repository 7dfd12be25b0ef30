import Foundation
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

    /// Meta keys that legitimately differ between shards.
    static let shardKeys: Set<String> = ["shard", "shards", "shard_index", "shard_count", "index", "range", "start", "end",
                                         "count", "images", "seconds", "elapsed", "created", "time", "date", "host", "rate"]

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
        for input in inputs {
            let part: (pool: FeatureMoments, spatial: FeatureMoments?)
            if input.hasStatistics {
                part = try StatisticsFile.read(input.url).moments(input.url)
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
        let file = try StatisticsFile(pool: pool!, spatial: spatial)
        try file.write(to: output)
        return Summary(output: .statistics, parts: inputs.count, count: pool!.count)
    }

    static func mergeFeatures(_ parts: [URL], to output: URL) throws -> Summary {
        var pool: [Float] = [], spatial: [Float] = [], index: [Int64] = []
        var hasSpatial = true, metaReference: (URL, [String: Any])?
        for url in parts {
            let npz = try NpzFile(contentsOf: url)
            let n = try FeaturesFile.check(npz)
            if let meta = try FeaturesFile.meta(npz) {
                if let (firstURL, first) = metaReference {
                    for key in Set(first.keys).union(meta.keys) where !shardKeys.contains(key) {
                        let a = first[key].map { "\($0)" } ?? "absent", b = meta[key].map { "\($0)" } ?? "absent"
                        if a != b {
                            throw FormatError(url, field: "meta.\(key)", expected: "\(a) as in \(firstURL.lastPathComponent)",
                                              found: "\(b) (shards made with different settings cannot be merged)")
                        }
                    }
                } else {
                    metaReference = (url, meta)
                }
            }
            pool += try npz.array("pool").asFloats()
            if hasSpatial && npz.contains("spatial") { spatial += try npz.array("spatial").asFloats() } else { hasSpatial = false }
            let base = index.count
            index += npz.contains("index") ? try npz.array("index").asInt64() : (0..<n).map { Int64(base + $0) }
        }
        // Rows in index order; shards must not overlap.
        let order = index.indices.sorted { index[$0] < index[$1] }
        for (a, b) in zip(order, order.dropFirst()) where index[a] == index[b] {
            throw MetricError("image \(index[a]) appears in more than one part: the shards overlap")
        }
        let n = index.count
        func reordered(_ values: [Float], _ d: Int) -> [Float] {
            var out = [Float](repeating: 0, count: values.count)
            for (row, source) in order.enumerated() {
                for j in 0..<d { out[row * d + j] = values[source * d + j] }
            }
            return out
        }
        var arrays: [(String, NpyArray)] = [("pool", NpyArray(floats: reordered(pool, FeaturesFile.poolDimension), shape: [n, FeaturesFile.poolDimension]))]
        if hasSpatial {
            arrays.append(("spatial", NpyArray(floats: reordered(spatial, FeaturesFile.spatialDimension), shape: [n, FeaturesFile.spatialDimension])))
        }
        arrays.append(("index", NpyArray(int64: order.map { index[$0] }, shape: [n])))
        if var meta = metaReference?.1 {
            for key in shardKeys { meta[key] = nil }
            meta["merged_from"] = parts.count
            let data = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
            arrays.append(("meta", NpyArray(uint8: Array(data), shape: [data.count])))
        }
        try writeNpz(arrays, to: output)
        return Summary(output: .features, parts: parts.count, count: n)
    }
}
