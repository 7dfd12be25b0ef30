import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// Anything a user may pass where images are expected, and what it can provide:
/// - a statistics file (`mu`, `sigma`, optionally `mu_s`, `sigma_s`): FID/sFID only;
/// - a features file (`pool`, optionally `spatial`): every metric but IS needs nothing else;
/// - images (ADM batch `.npz` with `arr_0`, `.npy`, or a folder): run through Inception.
/// An ADM reference batch may hold both `arr_0` and precomputed statistics; then the statistics
/// serve FID/sFID and the images the k-NN metrics, as ADM's evaluator does.
public final class EvalInput {
    public let url: URL
    public let hasStatistics: Bool
    public let hasFeatures: Bool
    public let hasImages: Bool
    private let npz: NpzFile?

    public init(_ url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FormatError(url, field: "input", expected: "an .npz (images, features or statistics), an .npy or a folder of images",
                              found: "no such file or folder")
        }
        if !isDirectory.boolValue && url.pathExtension.lowercased() == "npz" {
            let npz = try NpzFile(contentsOf: url)
            self.npz = npz
            hasStatistics = StatisticsFile.isStatistics(npz)
            hasFeatures = FeaturesFile.isFeatures(npz)
            hasImages = npz.contains("arr_0")
            guard hasStatistics || hasFeatures || hasImages else {
                throw FormatError(url, field: "arrays", expected: "arr_0 (uint8 images N×H×W×3), pool/spatial (features) or mu/sigma (statistics)",
                                  found: npz.names.isEmpty ? "no arrays" : npz.names.joined(separator: ", "))
            }
            if hasFeatures { try FeaturesFile.check(npz) }
        } else {
            npz = nil
            hasStatistics = false; hasFeatures = false; hasImages = true
        }
    }

    public var kindDescription: String {
        [hasImages ? "images" : nil, hasFeatures ? "features" : nil, hasStatistics ? "statistics" : nil]
            .compactMap { $0 }.joined(separator: " + ")
    }

    /// pool (and spatial, when available) statistics: precomputed ones when the file has them,
    /// otherwise accumulated in float64 while features stream from the file or the network.
    public func statistics(_ extractor: ExtractorProvider) throws -> StatisticsFile {
        if hasStatistics { return try StatisticsFile.read(url) }
        let moments = try self.moments(extractor, keepPool: false).moments
        return try StatisticsFile(pool: moments.pool, spatial: moments.spatial)
    }

    /// pool features in memory (for the k-NN metrics, IS and KID) plus the moments of both layers,
    /// accumulated on the way. Statistics-only files cannot provide them.
    public func features(_ extractor: ExtractorProvider) throws -> LoadedFeatures {
        guard hasFeatures || hasImages else {
            throw FormatError(url, field: "pool / arr_0", expected: "features or images (precision, recall, IS and KID need per-image features)",
                              found: "statistics only (mu, sigma)")
        }
        let (pool, moments) = try self.moments(extractor, keepPool: true)
        return LoadedFeatures(pool: pool!, poolMoments: moments.pool, spatialMoments: moments.spatial)
    }

    private func moments(_ extractor: ExtractorProvider, keepPool: Bool) throws
        -> (Tensor?, moments: (pool: FeatureMoments, spatial: FeatureMoments?)) {
        if hasFeatures, let npz {
            let n = try FeaturesFile.check(npz)
            let pool = keepPool ? Tensor(uninitialized: [n, FeaturesFile.poolDimension]) : nil
            let poolMoments = MomentAccumulator(dimension: FeaturesFile.poolDimension)
            try FeaturesFile.streamFloatRows(npz, "pool") { first, rows, values in
                poolMoments.add(values, rows: rows)
                pool?.data.advanced(by: first * FeaturesFile.poolDimension)
                    .update(from: values, count: rows * FeaturesFile.poolDimension)
            }
            var spatial: FeatureMoments?
            if npz.contains("spatial") {
                let acc = MomentAccumulator(dimension: FeaturesFile.spatialDimension)
                try FeaturesFile.streamFloatRows(npz, "spatial") { _, rows, values in acc.add(values, rows: rows) }
                spatial = acc.finish()
            }
            return (pool, (poolMoments.finish(), spatial))
        }
        let source = try openImageSource(url)
        let net = try extractor.get()
        let pool = keepPool ? Tensor(uninitialized: [source.count, FeatureExtractor.poolDimension]) : nil
        let poolMoments = MomentAccumulator(dimension: FeatureExtractor.poolDimension)
        let spatialMoments = MomentAccumulator(dimension: FeatureExtractor.spatialDimension)
        try net.extract(source, progress: extractor.progress) { batch in
            poolMoments.add(batch.pool)
            spatialMoments.add(batch.spatial)
            if let pool {
                batch.pool.withUnsafeBufferPointer {
                    pool.data.advanced(by: batch.start * FeatureExtractor.poolDimension).update(from: $0.baseAddress!, count: $0.count)
                }
            }
        }
        return (pool, (poolMoments.finish(), spatialMoments.finish()))
    }
}

/// pool3 features held in memory, with the float64 moments of pool and spatial features.
public struct LoadedFeatures {
    /// (N, 2048)
    public var pool: Tensor
    public var poolMoments: FeatureMoments
    public var spatialMoments: FeatureMoments?
    public var count: Int { pool.shape[0] }
}

/// Creates the Inception network once, on first use (inputs that are features or statistics
/// never load it).
public final class ExtractorProvider {
    public let weights: URL?
    public let resize: ResizeMode
    public let batchSize: Int
    public let progress: Bool
    private var extractor: FeatureExtractor?

    public init(weights: URL? = nil, resize: ResizeMode = .adm, batchSize: Int = 16, progress: Bool = true) {
        self.weights = weights; self.resize = resize; self.batchSize = batchSize; self.progress = progress
    }

    public var loaded: FeatureExtractor? { extractor }

    public func get() throws -> FeatureExtractor {
        if let extractor { return extractor }
        let made = try FeatureExtractor(weights: weights, resize: resize, batchSize: batchSize)
        extractor = made
        return made
    }
}
