import Foundation

/// Are the samples on the reference's data manifold at all? A distortion classifier trained on
/// clean references flags anything unlike them, so a high rate on samples that look nothing like
/// the data says "unlike the data", not "distorted" (issue #15: all three demo models ~100%).
/// This is precision and density (Naeem et al. 2020) of the samples' Inception pool3 features
/// against the reference's — computed by Eval's `ManifoldEstimator` (`realismCheck` in Eval), only
/// stored here so that `DistortionScore` can carry it.
public struct RealismCheck: Codable, Sendable, Equatable {
    /// Below either figure the samples are called off-manifold. Real images against real images of
    /// the same source give precision ≈ 0.9 and density ≈ 1 (README: real vs real 0.93); below 0.5
    /// most samples fall outside every reference k-NN ball.
    public static let offManifoldPrecision = 0.5
    public static let offManifoldDensity = 0.5

    public var features: String
    public var k: Int
    public var referenceCount: Int
    public var sampleCount: Int
    public var precision: Double
    public var density: Double
    public var recall: Double
    public var coverage: Double

    public init(features: String, k: Int, referenceCount: Int, sampleCount: Int, precision: Double, density: Double,
                recall: Double, coverage: Double) {
        self.features = features; self.k = k; self.referenceCount = referenceCount; self.sampleCount = sampleCount
        self.precision = precision; self.density = density; self.recall = recall; self.coverage = coverage
    }

    public var offManifold: Bool { precision < Self.offManifoldPrecision || density < Self.offManifoldDensity }

    enum CodingKeys: String, CodingKey {
        case features, k, referenceCount = "reference_count", sampleCount = "sample_count", precision, density, recall, coverage
        case offManifold = "off_manifold"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(features: try c.decode(String.self, forKey: .features), k: try c.decode(Int.self, forKey: .k),
                  referenceCount: try c.decode(Int.self, forKey: .referenceCount), sampleCount: try c.decode(Int.self, forKey: .sampleCount),
                  precision: try c.decode(Double.self, forKey: .precision), density: try c.decode(Double.self, forKey: .density),
                  recall: try c.decode(Double.self, forKey: .recall), coverage: try c.decode(Double.self, forKey: .coverage))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(features, forKey: .features); try c.encode(k, forKey: .k)
        try c.encode(referenceCount, forKey: .referenceCount); try c.encode(sampleCount, forKey: .sampleCount)
        try c.encode(precision, forKey: .precision); try c.encode(density, forKey: .density)
        try c.encode(recall, forKey: .recall); try c.encode(coverage, forKey: .coverage)
        try c.encode(offManifold, forKey: .offManifold)
    }

    /// What `notes` says about the rate beside it (empty when the samples are on the manifold).
    public var notes: [String] {
        guard offManifold else { return [] }
        return [String(format: "samples are off the data manifold (Inception precision %.3f, density %.3f against %d reference images; on-manifold needs both ≥ %.1f): the distortion rate says they are unlike the data, not that they are distorted",
                       precision, density, referenceCount, Self.offManifoldPrecision)]
    }
}
