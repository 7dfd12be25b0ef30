import Foundation
import TensorCore
import TensorIO

/// Turns images into the feature vectors the classifier reads. Implementations: the
/// hand-made `HandcraftedFeatures` (spectrum + pixel statistics, no weights needed) and
/// `InceptionDistortionFeatures` (Inception pool3 + spatial maps, plus the hand-made ones).
public protocol FeatureProvider {
    /// Stored in the model card; a model can only score with the provider it was trained with.
    var name: String { get }
    var featureNames: [String] { get }
    /// Features of `images` (all the same size), row-major (images.count, featureNames.count).
    func features(of images: [RGBImage]) throws -> [Float]
}

extension FeatureProvider {
    public var dimension: Int { featureNames.count }
}

/// Spectral patch-grid evidence and pixel statistics, computed in parallel over images.
public struct HandcraftedFeatures: FeatureProvider {
    public static let providerName = "spectral+statistics"
    public var name: String { HandcraftedFeatures.providerName }
    public var featureNames: [String] { PatchGridSpectrum.featureNames + ImageStatistics.featureNames }
    private let spectrum = PatchGridSpectrum()

    public init() {}

    public func features(of images: [RGBImage]) throws -> [Float] {
        let d = featureNames.count
        var out = [Float](repeating: 0, count: images.count * d)
        out.withUnsafeMutableBufferPointer { buffer in
            let rows = UncheckedSendable(buffer)
            parallelFor(images.count) { i in
                let f = spectrum.features(images[i]) + ImageStatistics().features(images[i])
                for j in 0..<d { rows.value[i * d + j] = f[j].isFinite ? f[j] : 0 }
            }
        }
        return out
    }
}

/// Images held in memory, served as an `ImageSource` (for feature extractors that read sources).
public struct InMemoryImageSource: ImageSource {
    public let url: URL
    public let images: [RGBImage]
    public var count: Int { images.count }
    public var labels: [Int]? { nil }

    public init(_ images: [RGBImage], name: String = "memory") {
        self.images = images
        url = URL(fileURLWithPath: "/dev/null").appendingPathComponent(name)
    }

    public func forEachBatch(size: Int, _ body: (Int, [RGBImage]) throws -> Void) throws {
        var start = 0
        while start < images.count {
            let end = min(start + size, images.count)
            try body(start, Array(images[start..<end]))
            start = end
        }
    }
}
