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
    /// What a features or statistics file records about its preprocessing (nil: none, or images).
    public let recorded: Preprocessing?
    /// Whether images may be served from (and stored in) the provider's feature cache.
    public var usesCache = true
    /// How the feature cache served this input's images, once they were read.
    public private(set) var cacheUse: FeatureCacheUse?
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
            recorded = Preprocessing(meta: (try? FeaturesFile.meta(npz)) ?? nil)
        } else {
            npz = nil
            hasStatistics = false; hasFeatures = false; hasImages = true
            recorded = nil
        }
    }

    /// Where FID's statistics of this input come from, for `checkPreprocessing`: the file's own
    /// statistics or features (with what they record), or images read now with `provider`'s settings.
    public func statisticsOrigin(_ provider: ExtractorProvider) throws -> SideOrigin {
        if hasStatistics || hasFeatures {
            return SideOrigin(name: url.lastPathComponent, preprocessing: recorded, readNow: false,
                              foreignHint: recorded == nil && hasStatistics ? npz.flatMap(foreignStatisticsHint) : nil)
        }
        return try featuresOrigin(provider)
    }

    /// Where the per-image features come from (images read now, unless the file holds features).
    public func featuresOrigin(_ provider: ExtractorProvider) throws -> SideOrigin {
        if hasFeatures { return SideOrigin(name: url.lastPathComponent, preprocessing: recorded, readNow: false) }
        return SideOrigin(name: url.lastPathComponent, preprocessing: try provider.preprocessing(), readNow: true)
    }

    /// The images opened once (folder listing, array headers), when the input has images.
    private var openedImages: (any ImageSource)?
    private func imageSource() throws -> any ImageSource {
        if let openedImages { return openedImages }
        let source = try openImageSource(url)
        openedImages = source
        return source
    }

    /// Checks, without computing anything, that statistics can be taken from this input: a
    /// statistics file, or at least 2 feature vectors or images (a covariance needs 2). Commands
    /// call it for every input before the first feature pass, so a bad second input is refused
    /// before the first one's features are computed.
    public func checkStatisticsPossible() throws {
        if hasStatistics { return }
        let n: Int, field: String
        if hasFeatures, let npz {
            n = try FeaturesFile.check(npz); field = "pool"
        } else {
            n = try imageSource().count; field = "images"
        }
        guard n >= 2 else {
            throw FormatError(url, field: field, expected: "at least 2 images (a covariance needs 2 feature vectors)",
                              found: "\(n) image\(n == 1 ? "" : "s")")
        }
    }

    /// The labels the images were drawn for: `arr_1` of an ADM batch (as ADM's sampler writes
    /// it), one integer per image; nil when the file has none (folders, `.npy`, statistics).
    public func labels() throws -> [Int]? {
        guard let npz else { return nil }
        return try Self.labels(in: npz, of: url)
    }

    /// `arr_1` of an open `.npz` (at `url`, for the errors), checked as `labels()` checks it.
    static func labels(in npz: NpzFile, of url: URL) throws -> [Int]? {
        guard npz.contains("arr_1") else { return nil }
        let array = try npz.array("arr_1")
        guard array.shape.count == 1 else {
            throw FormatError(url, field: "arr_1", expected: "class labels, one integer per image (shape (N,))", found: "shape \(array.shape)")
        }
        do { return try array.asInts() } catch {
            throw FormatError(url, field: "arr_1", expected: "class labels of an integer dtype", found: "\(array.dtype)")
        }
    }

    /// Whether its features (pool, spatial) need the Inception network: images without features.
    public var needsNetworkForFeatures: Bool { hasImages && !hasFeatures }
    /// Whether its statistics need the network: images without precomputed statistics or features.
    public var needsNetworkForStatistics: Bool { !hasStatistics && needsNetworkForFeatures }

    /// Before any feature pass: every input is checked (`check`), then the weights are loaded if
    /// some input needs the network, so a bad second input or a damaged weights file is refused at
    /// once rather than after the first input's features.
    public static func prepare(_ inputs: [EvalInput], _ provider: ExtractorProvider, needsNetwork: (EvalInput) -> Bool,
                               check: (EvalInput) throws -> Void) throws {
        for input in inputs { try check(input) }
        if inputs.contains(where: needsNetwork) { _ = try provider.get() }
    }

    public var kindDescription: String {
        [hasImages ? "images" : nil, hasFeatures ? "features" : nil, hasStatistics ? "statistics" : nil]
            .compactMap { $0 }.joined(separator: " + ")
    }

    /// pool (and spatial, when available) statistics: precomputed ones when the file has them,
    /// otherwise accumulated in float64 while features stream from the file or the network.
    public func statistics(_ extractor: ExtractorProvider) throws -> StatisticsFile {
        if hasStatistics { return try StatisticsFile.read(url) }
        try checkStatisticsPossible()
        let moments = try self.moments(extractor, keepPool: false).moments
        var file = try StatisticsFile(pool: moments.pool, spatial: moments.spatial)
        file.preprocessing = hasFeatures ? recorded : try extractor.preprocessing()
        return file
    }

    /// pool features in memory (for the k-NN metrics, IS and KID) plus the moments of both layers,
    /// accumulated on the way. Statistics-only files cannot provide them.
    public func features(_ extractor: ExtractorProvider) throws -> LoadedFeatures {
        guard hasFeatures || hasImages else {
            throw FormatError(url, field: "pool / arr_0", expected: "features or images (precision, recall, IS and KID need per-image features)",
                              found: "statistics only (mu, sigma)")
        }
        try checkStatisticsPossible()
        let (pool, moments) = try self.moments(extractor, keepPool: true)
        return LoadedFeatures(pool: pool!, poolMoments: moments.pool, spatialMoments: moments.spatial)
    }

    private func moments(_ extractor: ExtractorProvider, keepPool: Bool) throws
        -> (Tensor?, moments: (pool: FeatureMoments, spatial: FeatureMoments?)) {
        if hasFeatures, let npz { return try Self.fileMoments(npz, keepPool: keepPool) }
        let source = try imageSource()
        let cache = usesCache ? extractor.cache : nil
        var key: FeatureCache.Key?
        if let cache {
            let k = FeatureCache.Key(contentSHA1: try FeatureCache.contentSHA1(of: url), weightsSHA1: try extractor.weightsSHA1(),
                                     resize: extractor.resize, batchSize: extractor.batchSize)
            key = k
            if let entry = cache.lookup(k, count: source.count) {
                do {
                    let result = try Self.fileMoments(entry, keepPool: keepPool)
                    cacheUse = FeatureCacheUse(status: .hit, entry: entry.url.path)
                    return result
                } catch {
                    cache.discard(entry.url, because: "\(error)")   // e.g. a CRC mismatch: computed again below
                }
            }
        }
        let net = try extractor.get()
        // Writing the cache entry must never fail the evaluation: on an error it is dropped.
        var entry: FeaturesFileWriter?
        if let cache, let key {
            entry = try? cache.writer(for: key, count: source.count)
            cacheUse = FeatureCacheUse(status: entry == nil ? .tooLarge : .stored, entry: entry?.url.path)
        } else {
            cacheUse = FeatureCacheUse(status: .off, entry: nil)
        }
        let pool = keepPool ? Tensor(uninitialized: [source.count, InceptionV3.poolDimension]) : nil
        let poolMoments = MomentAccumulator(dimension: InceptionV3.poolDimension)
        let spatialMoments = MomentAccumulator(dimension: InceptionV3.spatialDimension)
        do {
            try net.extract(source, progress: extractor.progress) { batch in
                // Finite weights and uint8 pixels give finite features; if not, say where, not "mu[3]".
                for (name, values, d) in [("pool", batch.pool, InceptionV3.poolDimension),
                                          ("spatial", batch.spatial, InceptionV3.spatialDimension)] {
                    try values.withUnsafeBufferPointer {
                        try FeaturesFile.requireFinite($0.baseAddress!, rows: batch.count, dimension: d, firstRow: batch.start, file: url,
                                                       array: "Inception \(name) features of image",
                                                       what: "finite features (weights \(net.weights.url.path))")
                    }
                }
                poolMoments.add(batch.pool)
                spatialMoments.add(batch.spatial)
                if let pool {
                    batch.pool.withUnsafeBufferPointer {
                        pool.data.advanced(by: batch.start * InceptionV3.poolDimension).update(from: $0.baseAddress!, count: $0.count)
                    }
                }
                do { try entry?.append(pool: batch.pool, spatial: batch.spatial) } catch {
                    entry?.cancel(); entry = nil
                    cacheUse = FeatureCacheUse(status: .failed, entry: nil, note: "\(error)")
                }
            }
        } catch {
            entry?.cancel()
            throw error
        }
        if let cache, let key, let entry {
            do {
                try cache.store(entry, key: key, source: url, count: source.count, preprocessing: try extractor.preprocessing())
            } catch {
                entry.cancel()
                cacheUse = FeatureCacheUse(status: .failed, entry: nil, note: "\(error)")
            }
        }
        return (pool, (poolMoments.finish(), spatialMoments.finish()))
    }

    /// Moments (and, if asked, pool rows) of a features file, streamed; the CRC of each array is
    /// checked once it has been read, and a NaN or infinite value is refused (`streamFloatRows`).
    private static func fileMoments(_ npz: NpzFile, keepPool: Bool) throws
        -> (Tensor?, moments: (pool: FeatureMoments, spatial: FeatureMoments?)) {
        let n = try FeaturesFile.check(npz)
        let pool = keepPool ? Tensor(uninitialized: [n, InceptionV3.poolDimension]) : nil
        let poolMoments = MomentAccumulator(dimension: InceptionV3.poolDimension)
        try FeaturesFile.streamFloatRows(npz, "pool") { first, rows, values in
            poolMoments.add(values, rows: rows)
            pool?.data.advanced(by: first * InceptionV3.poolDimension)
                .update(from: values, count: rows * InceptionV3.poolDimension)
        }
        var spatial: FeatureMoments?
        if npz.contains("spatial") {
            let acc = MomentAccumulator(dimension: InceptionV3.spatialDimension)
            try FeaturesFile.streamFloatRows(npz, "spatial") { _, rows, values in acc.add(values, rows: rows) }
            spatial = acc.finish()
        }
        return (pool, (poolMoments.finish(), spatial))
    }
}

/// What the feature cache did for one input: served it (`hit`), computed and stored it
/// (`stored`), was not asked (`off`), could not hold it (`too_large`) or failed to write (`failed`).
public struct FeatureCacheUse: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case hit, stored, off, tooLarge = "too_large", failed }
    public var status: Status
    public var entry: String?
    public var note: String?
    public init(status: Status, entry: String?, note: String? = nil) { self.status = status; self.entry = entry; self.note = note }
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
    /// Where features of images are looked up and stored; nil: always computed (`--no-cache`).
    public let cache: FeatureCache?
    private var extractor: FeatureExtractor?
    private var located: (url: URL, sha1: String)?

    public init(weights: URL? = nil, resize: ResizeMode = .adm, batchSize: Int = 16, progress: Bool = true,
                cache: FeatureCache? = nil) {
        self.weights = weights; self.resize = resize; self.batchSize = batchSize; self.progress = progress
        self.cache = cache
    }

    public var loaded: FeatureExtractor? { extractor }

    /// SHA-1 of the weights file that will be used (found as `FeatureExtractor` finds it), without loading it.
    public func weightsSHA1() throws -> String { try locate().sha1 }

    /// This run's preprocessing: resize mode and weights, as recorded in the files it writes.
    public func preprocessing() throws -> Preprocessing {
        let (url, sha1) = try locate()
        return Preprocessing(resize: resize, weights: url.path, weightsFormat: extractor?.weightsFormat.rawValue, weightsSHA1: sha1)
    }

    private func locate() throws -> (url: URL, sha1: String) {
        if let located { return located }
        let url = try extractor?.weights.url ?? WeightsLocator.locate(explicit: weights).url
        let found = (url, try sha1Hex(of: url))
        located = found
        return found
    }

    public func get() throws -> FeatureExtractor {
        if let extractor { return extractor }
        let made = try FeatureExtractor(weights: weights, resize: resize, batchSize: batchSize)
        extractor = made
        return made
    }
}

extension MetricSuite.Side {
    /// One input as `MetricSuite.evaluate` takes it, read as ADM's evaluator reads it: a file's
    /// precomputed statistics serve FID/sFID when it has them, and the per-image features (from
    /// the file, or computed from its images) serve everything else; a statistics file gives no
    /// features. `eval` and `train`'s checkpoint scorer read their inputs with it.
    public init(_ input: EvalInput, _ provider: ExtractorProvider, description: String) throws {
        guard input.hasFeatures || input.hasImages else {
            self.init(statistics: try StatisticsFile.read(input.url), features: nil, description: description)
            return
        }
        let loaded = try input.features(provider)
        let statistics = input.hasStatistics ? try StatisticsFile.read(input.url)
            : try StatisticsFile(pool: loaded.poolMoments, spatial: loaded.spatialMoments)
        self.init(statistics: statistics, features: loaded.pool, description: description, labels: try input.labels())
    }
}
