import Foundation
import TensorCore
import TensorIO

/// What a saved classifier was trained on and how well it did: written beside the weights as
/// `card.json`, and printed by `distortion train`.
public struct DistortionModelCard: Codable, Sendable {
    public static let currentFormat = "dimr-eval distortion classifier 1"
    public var format = DistortionModelCard.currentFormat
    public var createdBy: String
    public var featureProvider: String
    public var featureCount: Int
    /// Images are resized to this size before features are computed (the reference's size).
    public var imageWidth: Int
    public var imageHeight: Int
    public var reference: ReferenceSummary
    public var labelledFolders: [String: String]?
    public var trainingKinds: [String]
    public var heldOutKinds: [String]
    public var split: SplitSizes
    public var seed: UInt64
    public var l2: Double
    public var iterations: Int
    /// The chosen false-positive rate on clean images and the probability threshold it gives.
    public var falsePositiveRate: Double
    public var threshold: Double
    /// Share of the calibration / test clean images flagged (the test figure should be near the FPR).
    public var calibrationCleanRate: Double
    public var testCleanRate: Double
    public var perKind: [KindResult]
    public var heldOutSummary: KindResult
    public var trainingSummary: KindResult
    /// The training loss, every few iterations.
    public var trainingLoss: [Double]
    public var notes: [String]

    public struct ReferenceSummary: Codable, Sendable {
        public var path: String
        public var imagesInSource: Int
        public var imagesUsed: Int
        public var fingerprint: String
    }

    public struct SplitSizes: Codable, Sendable {
        public var train: Int
        public var calibration: Int
        public var test: Int
        public var distortedPerTrainImage: Int
    }

    /// Detection of one kind of distortion on the test images (against the test clean images).
    public struct KindResult: Codable, Sendable {
        public var kind: String
        public var heldOut: Bool
        public var count: Int
        /// Share of distorted test images flagged at the threshold (true-positive rate).
        public var detectionRate: Double
        /// (detection rate + clean test images passed) / 2.
        public var balancedAccuracy: Double
        public var auc: Double
    }
}

/// A trained classifier: standardisation, logistic regression, threshold, and its card.
///
/// The regression sees each standardised feature z and also z² − 1: damage can push a feature
/// either way from what clean images show (a swirl smooths, a seam sharpens), which a purely
/// linear score cannot express.
public struct DistortionClassifier: Sendable {
    public var card: DistortionModelCard
    public var standardizer: Standardizer
    public var model: LogisticRegression

    public static let weightsFile = "classifier.safetensors"
    public static let cardFile = "card.json"

    public init(card: DistortionModelCard, standardizer: Standardizer, model: LogisticRegression) {
        self.card = card; self.standardizer = standardizer; self.model = model
    }

    public var threshold: Double { card.threshold }

    /// p(distorted) for raw (unstandardised) features, (rows, featureCount) row-major.
    public func probabilities(features: [Float], rows: Int) -> [Double] {
        model.probabilities(DistortionClassifier.design(standardizer.apply(features), columns: standardizer.mean.count), rows: rows)
    }

    /// Standardised features z (rows, d) → the regression's inputs [z, z² − 1] (rows, 2d).
    public static func design(_ z: [Float], columns d: Int) -> [Float] {
        let rows = z.count / max(d, 1)
        var out = [Float](repeating: 0, count: rows * 2 * d)
        for i in 0..<rows {
            for j in 0..<d {
                let v = z[i * d + j]
                out[i * 2 * d + j] = v
                out[i * 2 * d + d + j] = v * v - 1
            }
        }
        return out
    }

    /// Writes `classifier.safetensors` and `card.json` into `directory` (created if needed), atomically.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let d = standardizer.mean.count
        try writeSafetensors([
            "mean": Tensor(shape: [d], values: standardizer.mean),
            "scale": Tensor(shape: [d], values: standardizer.scale),
            "weight": Tensor(shape: [model.weights.count], values: model.weights),
            "bias": Tensor(shape: [1], values: [model.bias]),
        ], metadata: ["format": DistortionModelCard.currentFormat, "feature_provider": card.featureProvider,
                      "threshold": String(card.threshold)],
           to: directory.appendingPathComponent(DistortionClassifier.weightsFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(try encoder.encode(card), to: directory.appendingPathComponent(DistortionClassifier.cardFile))
    }

    /// Reads a classifier saved by `save(to:)`.
    public static func load(from directory: URL) throws -> DistortionClassifier {
        let cardURL = directory.appendingPathComponent(cardFile), weightsURL = directory.appendingPathComponent(weightsFile)
        guard let data = try? Data(contentsOf: cardURL) else {
            throw FormatError(cardURL, field: "card", expected: "a classifier directory from `dimr-eval distortion train` (card.json + classifier.safetensors)",
                              found: "no readable card.json")
        }
        let card: DistortionModelCard
        do { card = try JSONDecoder().decode(DistortionModelCard.self, from: data) } catch {
            throw FormatError(cardURL, field: "card", expected: DistortionModelCard.currentFormat, found: "\(error)")
        }
        guard card.format == DistortionModelCard.currentFormat else {
            throw FormatError(cardURL, field: "format", expected: DistortionModelCard.currentFormat, found: card.format)
        }
        let tensors = try readSafetensors(weightsURL)
        let d = card.featureCount
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            guard let t = tensors[name] else {
                throw FormatError(weightsURL, field: name, expected: "a tensor of \(count) values", found: "no such tensor")
            }
            guard t.count == count else {
                throw FormatError(weightsURL, field: name, expected: "\(count) values (card.json featureCount)", found: "shape \(t.shape)")
            }
            let values = t.array
            guard values.allSatisfy({ $0.isFinite }) else {
                throw FormatError(weightsURL, field: name, expected: "finite values", found: "NaN or infinity")
            }
            return values
        }
        return DistortionClassifier(
            card: card,
            standardizer: Standardizer(mean: try vector("mean", d), scale: try vector("scale", d)),
            model: LogisticRegression(weights: try vector("weight", 2 * d), bias: try vector("bias", 1)[0]))
    }
}
