import Foundation
import TensorCore
import TensorIO

/// Features of one batch of images, in source order.
public struct FeatureBatch: Sendable {
    /// Index of the batch's first image in the source.
    public var start: Int
    public var count: Int
    /// pool3 features, (count, 2048) row-major.
    public var pool: [Float]
    /// mixed_6/conv (Mixed_6d branch1x1) output, first 7 channels, H,W,C order: (count, 2023).
    public var spatial: [Float]

    public init(start: Int, count: Int, pool: [Float], spatial: [Float]) {
        self.start = start; self.count = count; self.pool = pool; self.spatial = spatial
    }
}

/// uint8 images → Inception pool3 and spatial features, streaming: memory holds one batch.
public final class FeatureExtractor {
    /// Version of what turns image bytes into features besides the weights and the resize mode
    /// (decoding, resize arithmetic, layer choice). Recorded in every file written and part of
    /// the feature cache's key: raise it when a change moves any feature value, so that cached
    /// features of the old code are never served.
    public static let preprocessingVersion = 1

    public let network: InceptionV3
    public let resize: ResizeMode
    public let batchSize: Int
    /// Where the weights came from and their SHA-1, for the metadata of feature files.
    public let weights: LocatedWeights
    public let weightsFormat: InceptionWeights.Format

    /// The 1008×2048 classifier the Inception Score needs, when the weights carry it (pytorch-fid's .pth).
    public var fcWeight: Tensor? { network.fcWeight }

    /// weights: nil → the default search (see `WeightsLocator`).
    public init(weights: URL? = nil, resize: ResizeMode = .adm, batchSize: Int = 16) throws {
        precondition(batchSize > 0, "FeatureExtractor: batchSize must be positive, got \(batchSize)")
        let located = try WeightsLocator.locate(explicit: weights)
        self.weights = located
        let loaded = try InceptionWeights.load(located.url)
        self.weightsFormat = loaded.format
        self.network = try InceptionV3(weights: loaded)
        self.resize = resize
        self.batchSize = batchSize
    }

    /// Streams `source` in batches of `batchSize`; `body` sees each batch's features in order.
    public func extract(_ source: any ImageSource, progress: Bool, _ body: (FeatureBatch) throws -> Void) throws {
        guard source.count > 0 else {
            throw FormatError(source.url, field: "images", expected: "at least one image", found: "none")
        }
        let meter = Progress(total: source.count, label: "features", enabled: progress ? nil : false)
        try source.forEachBatch(size: batchSize) { start, images in
            var batch = try features(of: images)
            batch.start = start
            try body(batch)
            meter.advance(by: images.count)
        }
        meter.finish()
    }

    /// Features of images held in memory (any sizes; each is resized on its own).
    /// `stageTimer` hears the resize's and each network stage's wall time (see `InceptionV3.forward`).
    public func features(of images: [RGBImage], stageTimer: ((String, TimeInterval) -> Void)? = nil) throws -> FeatureBatch {
        var pool = [Float](), spatial = [Float]()
        pool.reserveCapacity(images.count * InceptionV3.poolDimension)
        spatial.reserveCapacity(images.count * InceptionV3.spatialDimension)
        var i = 0
        while i < images.count {
            let end = min(i + batchSize, images.count)
            let start = Date()
            let input = try inceptionInput(Array(images[i..<end]), mode: resize)
            stageTimer?("resize to 299", Date().timeIntervalSince(start))
            let out = network.forward(input, stageTimer: stageTimer)
            pool += out.pool.array
            spatial += out.spatial.array
            i = end
        }
        return FeatureBatch(start: 0, count: images.count, pool: pool, spatial: spatial)
    }
}
