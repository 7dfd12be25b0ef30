import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// A features file as `dimr-eval features` writes it: `pool` (N, 2048) float32 (Inception pool3),
/// `spatial` (N, 2023) float32 (mixed_6/conv, first 7 channels, H·W·C order) and, for shards from
/// `features --shard i/n`, `index` (N) int64 (each row's position in the full image set) and
/// `meta` (JSON text as uint8: weights, resize mode, shard, …).
public enum FeaturesFile {
    public static func isFeatures(_ npz: NpzFile) -> Bool { npz.contains("pool") }

    /// Checks `pool` (and `spatial` when present) are 2-D float arrays of the expected widths,
    /// so that features from another layer are refused before any arithmetic. Returns N.
    @discardableResult
    public static func check(_ npz: NpzFile) throws -> Int {
        let url = npz.url
        let pool = try npz.header("pool")
        guard pool.shape.count == 2, pool.dtype.isFloatingPoint else {
            throw FormatError(url, field: "pool", expected: "float features (N, \(InceptionV3.poolDimension))", found: "\(pool.dtype) \(pool.shape)")
        }
        guard pool.shape[1] == InceptionV3.poolDimension else {
            throw FormatError(url, field: "pool", expected: "(N, \(InceptionV3.poolDimension)) Inception pool3 features",
                              found: "\(pool.shape) (features from a different layer or network)")
        }
        guard pool.shape[0] > 0 else { throw FormatError(url, field: "pool", expected: "at least one image", found: "\(pool.shape)") }
        if npz.contains("spatial") {
            let spatial = try npz.header("spatial")
            guard spatial.shape == [pool.shape[0], InceptionV3.spatialDimension], spatial.dtype.isFloatingPoint else {
                throw FormatError(url, field: "spatial", expected: "float features (\(pool.shape[0]), \(InceptionV3.spatialDimension)) (mixed_6/conv[..., :7])",
                                  found: "\(spatial.dtype) \(spatial.shape) (features from a different layer?)")
            }
        }
        if npz.contains("index") {
            let index = try npz.header("index")
            guard index.shape == [pool.shape[0]], !index.dtype.isFloatingPoint else {
                throw FormatError(url, field: "index", expected: "\(pool.shape[0]) integers", found: "\(index.dtype) \(index.shape)")
            }
        }
        return pool.shape[0]
    }

    /// The `meta` JSON object, if the file has one.
    public static func meta(_ npz: NpzFile) throws -> [String: Any]? {
        guard npz.contains("meta") else { return nil }
        let bytes = try npz.array("meta").asUInt8()
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw FormatError(npz.url, field: "meta", expected: "a JSON object stored as uint8", found: "\(bytes.count) bytes that do not parse")
        }
        return object
    }

    /// Streams `name` (N, d) as float32 rows: body(firstRow, rows, values). A NaN or infinite
    /// value is refused naming the file, the array, the row and the column (it would otherwise
    /// become NaN statistics, or an error about "mu[3]" far from its cause).
    static func streamFloatRows(_ npz: NpzFile, _ name: String, _ body: (Int, Int, UnsafePointer<Float>) throws -> Void) throws {
        let header = try npz.header(name)
        let d = header.shape[1]
        var converted = [Float]()
        try npz.streamRows(name, rowsPerChunk: 1024) { first, rows, bytes in
            func checked(_ values: UnsafePointer<Float>) throws -> UnsafePointer<Float> {
                try requireFinite(values, rows: rows, dimension: d, firstRow: first, file: npz.url, array: name)
                return values
            }
            if header.dtype == .float32, let base = bytes.baseAddress {
                try body(first, rows, try checked(base.assumingMemoryBound(to: Float.self)))
            } else {
                converted = try NpyArray(dtype: header.dtype, shape: [rows, d], bytes: Array(bytes)).asFloats()
                try converted.withUnsafeBufferPointer { try body(first, rows, try checked($0.baseAddress!)) }
            }
        }
    }

    /// Throws for the first non-finite value of rows × dimension features, naming its row and column.
    static func requireFinite(_ values: UnsafePointer<Float>, rows: Int, dimension d: Int, firstRow: Int, file: URL, array: String,
                              what: String = "finite features") throws {
        for i in 0..<(rows * d) where !values[i].isFinite {
            throw FormatError(file, field: "\(array) row \(firstRow + i / d), column \(i % d)", expected: what, found: "\(values[i])")
        }
    }
}

/// Streams features into a features file: `pool` into the archive, `spatial` spooled beside it
/// (memory does not grow with N), then `index` and `meta` at `finish`. The file appears only when
/// `finish` succeeds. `dimr-eval features` writes its output with it and the feature cache its entries.
public final class FeaturesFileWriter {
    public let url: URL
    private let pool: NpzStreamWriter
    private let spatial: SpooledArray

    public init(url: URL, count: Int) throws {
        self.url = url
        pool = try NpzStreamWriter(url: url, name: "pool", dtype: .float32, shape: [count, InceptionV3.poolDimension])
        do {
            spatial = try pool.spool(name: "spatial", dtype: .float32, shape: [count, InceptionV3.spatialDimension])
        } catch {
            pool.cancel()
            throw error
        }
    }

    /// rows × 2048 pool and rows × 2023 spatial values, float32.
    public func append(pool poolValues: [Float], spatial spatialValues: [Float]) throws {
        try pool.append(floats: poolValues)
        try spatial.append(floats: spatialValues)
    }

    /// The same as raw float32 rows (copied from another features file).
    public func append(poolBytes: UnsafeRawBufferPointer) throws { try pool.append(bytes: poolBytes) }
    public func append(spatialBytes: UnsafeRawBufferPointer) throws { try spatial.append(bytes: spatialBytes) }

    /// meta: JSON text of an object, stored as uint8. labels: the images' classes (`arr_1` of an
    /// ADM batch), kept as `arr_1` so that `eval` can score label accuracy from the features alone.
    public func finish(index: [Int64]?, meta: Data, labels: [Int64]? = nil) throws {
        var extras: [(String, NpyArray)] = []
        if let index { extras.append(("index", NpyArray(int64: index, shape: [index.count]))) }
        if let labels { extras.append(("arr_1", NpyArray(int64: labels, shape: [labels.count]))) }
        extras.append(("meta", NpyArray(uint8: Array(meta), shape: [meta.count])))
        try pool.finish(extras: extras)
    }

    public func cancel() { pool.cancel() }
}

/// What a features file records about how it was made, so a reader can refuse features from a
/// different layer, network or preprocessing. Stored as JSON in the `meta` array.
public struct FeaturesMeta: Codable, Sendable {
    public var tool = "dimr-eval features"
    public var version = dimrEvalVersion
    /// Text compared by `ShardMerge` across parts: a change here refuses to merge older shards.
    public var layers = ["pool": "pool_3: Mixed_7c 8x8 average pool (2048)",
                         "spatial": "mixed_6/conv: Mixed_6d branch1x1, channels 0..<7, H,W,C order (17*17*7 = 2023)"]
    public var network = "FID Inception-v3 2015-12-05"
    public var weights: String
    public var weightsFormat: String
    public var weightsSHA1: String
    public var resize: String
    public var preprocessingVersion: Int
    /// Images per network batch: features move in the last bits with it (see `ShardSpec.rows`).
    public var batchSize: Int
    public var source: String
    public var sourceImages: Int
    public var shard: String?
    public var firstRow: Int
    public var rows: Int

    public init(preprocessing: Preprocessing, weightsFormat: String?, batchSize: Int, source: String, sourceImages: Int, shard: String?,
                rows: Range<Int>) {
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

    public func jsonData() throws -> Data {
        try encodeJSON(self, style: .line)
    }
}
