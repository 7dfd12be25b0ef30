import Foundation
import InceptionNet
import TensorIO

/// Inception-v3 evidence plus the hand-made features: pool3 (2048, what FID sees) and a
/// position-free summary of the spatial map (mixed_6/conv, 17×17×7 — the map sFID uses): per
/// channel its mean, spread, peak and roughness (mean |difference| between neighbouring
/// positions), since a distortion can sit anywhere in the image.
public struct InceptionDistortionFeatures: FeatureProvider {
    public static let providerName = "inception(pool3+spatial-summary)+spectral+statistics"
    public var name: String { InceptionDistortionFeatures.providerName }
    public let extractor: FeatureExtractor
    private let handcrafted = HandcraftedFeatures()

    public init(extractor: FeatureExtractor) { self.extractor = extractor }

    /// Loads the Inception weights (nil: the default search of `WeightsLocator`).
    public init(weights: URL? = nil) throws {
        extractor = try FeatureExtractor(weights: weights, resize: .adm, batchSize: 16)
    }

    public var featureNames: [String] {
        (0..<InceptionV3.poolDimension).map { "pool3_\($0)" }
            + (0..<InceptionV3.spatialChannels).flatMap { c in ["mean", "std", "max", "roughness"].map { "spatial\(c)_\($0)" } }
            + handcrafted.featureNames
    }

    public func features(of images: [RGBImage]) throws -> [Float] {
        let batch = try extractor.features(of: images)
        let hand = try handcrafted.features(of: images)
        let handD = handcrafted.dimension, poolD = InceptionV3.poolDimension, spatialD = InceptionV3.spatialDimension
        var out: [Float] = []
        out.reserveCapacity(images.count * dimension)
        for i in 0..<images.count {
            out += batch.pool[(i * poolD)..<((i + 1) * poolD)]
            out += InceptionDistortionFeatures.summarise(Array(batch.spatial[(i * spatialD)..<((i + 1) * spatialD)]))
            out += hand[(i * handD)..<((i + 1) * handD)]
        }
        return out
    }

    /// spatial: 17×17×7 in H, W, C order → 7 × (mean, std, max, roughness).
    static func summarise(_ spatial: [Float]) -> [Float] {
        let s = InceptionV3.spatialSide, c = InceptionV3.spatialChannels
        var out: [Float] = []
        for ch in 0..<c {
            func v(_ y: Int, _ x: Int) -> Float { spatial[(y * s + x) * c + ch] }
            var sum: Float = 0, squares: Float = 0, peak = -Float.infinity, rough: Float = 0
            for y in 0..<s {
                for x in 0..<s {
                    let value = v(y, x)
                    sum += value; squares += value * value; peak = max(peak, value)
                    if x + 1 < s { rough += abs(v(y, x + 1) - value) }
                    if y + 1 < s { rough += abs(v(y + 1, x) - value) }
                }
            }
            let n = Float(s * s), mean = sum / n
            out += [mean, max(squares / n - mean * mean, 0).squareRoot(), peak, rough / Float(2 * s * (s - 1))]
        }
        return out
    }
}
