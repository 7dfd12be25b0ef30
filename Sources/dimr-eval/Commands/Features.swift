import ArgumentParser
import Foundation
import InceptionNet
import TensorCore
import TensorIO

// ResizeMode: ExpressibleByArgument is declared in Fid.swift.

/// `dimr-eval features IMAGES -o OUT.npz`: Inception pool3 and spatial features of a batch of
/// images, optionally one shard of it (to spread a large batch over machines; `merge` joins them).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Inception features (pool3, spatial) of images.",
        discussion: """
        Writes OUT.npz with `pool` (N, 2048) float32 = pool3, `spatial` (N, 2023) float32 = mixed_6/conv \
        (Mixed_6d branch1x1) first 7 channels in H,W,C order (ADM's sFID layer), `index` (N) int64 = the \
        rows of IMAGES they belong to, and `meta` (uint8 JSON: layers, weights and their SHA-1, resize, shard).
        """)

    @Argument(help: "An ADM .npz (arr_0 uint8 NHWC), a .npy, or a folder of JPEG/PNG images.")
    var images: String

    @Option(name: .shortAndLong, help: "Output .npz.")
    var output: String

    @Option(help: "Only shard i of n (0 ≤ i < n): rows ⌊i·N/n⌋ ..< ⌊(i+1)·N/n⌋.")
    var shard: String?

    @Option(help: "Weights file (default: $DIMR_EVAL_WEIGHTS, then the cache scripts/setup.sh fills).")
    var weights: String?

    @Option(help: "Resize to 299: adm (TF-1 bilinear, ADM evaluator), clean (clean-fid PIL bicubic), pytorch (pytorch-fid bilinear).")
    var resize: ResizeMode = .adm

    @Option(parsing: .unconditional, help: "Images per network batch.")
    var batchSize = 16

    @Flag(help: "Print a JSON summary.") var json = false

    struct Summary: Codable {
        var output: String
        var images: Int
        var firstRow: Int
        var sourceImages: Int
        var seconds: Double
        var imagesPerSecond: Double
        var meta: FeaturesMeta
    }

    func validate() throws {
        try requirePositive(batchSize, "--batch-size")
        if let shard { _ = try ShardSpec(shard) }
    }

    func run() throws {
        let started = Date()
        let out = try checkedOutput(output, inputs: [images])
        let source = try openImageSource(URL(fileURLWithPath: images))
        let spec = try shard.map(ShardSpec.init) ?? ShardSpec(index: 0, count: 1)
        let rows = spec.rows(of: source.count)
        guard !rows.isEmpty else {
            throw ValidationError("shard \(spec) of \(source.count) images is empty: use fewer shards")
        }
        let extractor = try FeatureExtractor(weights: weights.map { URL(fileURLWithPath: $0) }, resize: resize, batchSize: batchSize)
        let meta = FeaturesMeta(extractor: extractor, source: source.url.path, sourceImages: source.count,
                                shard: shard == nil ? nil : spec.description, rows: rows)

        let pool = try NpzStreamWriter(url: out, name: "pool", dtype: .float32, shape: [rows.count, FeatureExtractor.poolDimension])
        do {
            let spatial = try pool.spool(name: "spatial", dtype: .float32, shape: [rows.count, FeatureExtractor.spatialDimension])
            try extractor.extract(ShardSource(source, rows: rows), progress: true) { batch in
                try pool.append(floats: batch.pool)
                try spatial.append(floats: batch.spatial)
            }
            try pool.finish(extras: [
                ("index", NpyArray(int64: rows.map(Int64.init), shape: [rows.count])),
                ("meta", NpyArray(uint8: Array(try meta.jsonData()), shape: [try meta.jsonData().count])),
            ])
        } catch {
            pool.cancel()
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        let summary = Summary(output: out.path, images: rows.count, firstRow: rows.lowerBound, sourceImages: source.count,
                              seconds: seconds, imagesPerSecond: Double(rows.count) / seconds, meta: meta)
        if json { print(try jsonString(summary)); return }
        print("wrote \(out.path): pool (\(rows.count), 2048), spatial (\(rows.count), 2023)"
              + (shard == nil ? "" : ", rows \(rows.lowerBound)..<\(rows.upperBound) of \(source.count)")
              + String(format: " in %.1f s (%.1f img/s)", seconds, summary.imagesPerSecond))
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
    var source: String
    var sourceImages: Int
    var shard: String?
    var firstRow: Int
    var rows: Int

    init(extractor: FeatureExtractor, source: String, sourceImages: Int, shard: String?, rows: Range<Int>) {
        weights = extractor.weights.url.path
        weightsFormat = extractor.weightsFormat.rawValue
        weightsSHA1 = (try? sha1Hex(of: extractor.weights.url)) ?? "unknown"
        resize = extractor.resize.rawValue
        self.source = source
        self.sourceImages = sourceImages
        self.shard = shard
        firstRow = rows.lowerBound
        self.rows = rows.count
    }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
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

    func rows(of total: Int) -> Range<Int> { (total * index / count)..<(total * (index + 1) / count) }
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
