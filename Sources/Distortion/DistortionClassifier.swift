import Foundation
import TensorCore
import TensorIO

/// What a saved classifier was trained on and how well it did: written beside the weights as
/// `card.json`, and printed by `distortion train`.
public struct DistortionModelCard: Codable, Sendable {
    /// Format 2: cross-fitted conformal calibration (`calibration`). Format 1 cards (one split into
    /// train / calibration / test) still load; their scores carry a note saying how they were calibrated.
    public static let currentFormat = "dimr-eval distortion classifier 2"
    public static let readableFormats = ["dimr-eval distortion classifier 1", currentFormat]
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
    /// Format 2: the cross-fitted scores of all reference images above the threshold, and the
    /// pooled rate of each fold at the threshold calibrated on the other folds (`calibration`).
    public var calibrationCleanRate: Double
    public var testCleanRate: Double
    public var perKind: [KindResult]
    public var heldOutSummary: KindResult
    public var trainingSummary: KindResult
    /// The training loss, every few iterations.
    public var trainingLoss: [Double]
    public var notes: [String]
    /// How the threshold was calibrated (nil in format 1 cards).
    public var calibration: CalibrationSummary?

    public struct ReferenceSummary: Codable, Sendable {
        public var path: String
        public var imagesInSource: Int
        public var imagesUsed: Int
        public var fingerprint: String
    }

    /// Format 1: disjoint train / calibration / test images. Format 2: every image trains (K − 1
    /// fold models and the final one) and calibrates (cross-fitted); test = the images each kind
    /// of distortion is applied to for the per-kind figures.
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

/// A trained classifier: standardisation, logistic regression(s), the decision rule, and its card.
///
/// The regression sees each standardised feature z and also z² − 1: damage can push a feature
/// either way from what clean images show (a swirl smooths, a seam sharpens), which a purely
/// linear score cannot express.
///
/// Format 2 keeps the K cross-fitting fold models. Reference image i was scored, for calibration,
/// by the one model that left it out; a sample is likewise scored by one fold model, the one its
/// features hash to (`foldOf`), so samples and calibration images are scores of the same kind —
/// one fold model on an image it never saw, the folds mixed in the same proportions — and the
/// sample is flagged when that p(distorted) exceeds the conformal threshold of all n calibration
/// scores. Two other rules were measured first (VALIDATION.md): one model refitted on all images
/// with the fold scores' threshold (0.4% and 12.1% of unseen clean images at 5%, n = 128 shapes
/// and photos: a refitted model's scores are not distributed like the fold models'), and the
/// cross-conformal p-value over all K models (valid, but conservative when the folds disagree:
/// 2.5–3.4% on unseen shapes at a 5% target).
/// Format 1 has one model and flags p > threshold.
public struct DistortionClassifier: Sendable {
    public struct Member: Sendable {
        public var standardizer: Standardizer
        public var model: LogisticRegression
        public init(standardizer: Standardizer, model: LogisticRegression) { self.standardizer = standardizer; self.model = model }

        /// p(distorted) for raw features (rows, d).
        public func probabilities(features: [Float], rows: Int) -> [Double] {
            model.probabilities(DistortionClassifier.design(standardizer.apply(features), columns: standardizer.mean.count), rows: rows)
        }
    }

    public var card: DistortionModelCard
    /// Format 2: one per cross-fitting fold (in fold order); format 1: the single model.
    public var members: [Member]

    public static let weightsFile = "classifier.safetensors"
    public static let cardFile = "card.json"

    public init(card: DistortionModelCard, members: [Member]) {
        precondition(!members.isEmpty, "a classifier needs a model")
        self.card = card; self.members = members
    }

    public var threshold: Double { card.threshold }

    /// The fold model that scores a sample with these features: FNV-1a of the feature bits modulo
    /// K, so an image always goes to the same model wherever it sits in a batch, and samples spread
    /// evenly over the folds as the calibration images do.
    public static func foldOf(features row: ArraySlice<Float>, folds: Int) -> Int {
        var hash = FNV1a()
        for v in row { hash.mix(UInt64(v.bitPattern)) }
        return Int(hash.value % UInt64(folds))
    }

    /// p(distorted) for raw (unstandardised) features, (rows, featureCount) row-major, each from
    /// the fold model the row hashes to. A sample is flagged when it exceeds `threshold`.
    public func probabilities(features: [Float], rows: Int) -> [Double] {
        let d = card.featureCount
        precondition(features.count == rows * d, "features (\(features.count) values) are not \(rows)×\(d)")
        let each = members.map { $0.probabilities(features: features, rows: rows) }
        return (0..<rows).map { i in each[Self.foldOf(features: features[(i * d)..<((i + 1) * d)], folds: members.count)][i] }
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

    /// Tensor names of member m: format 1 kept the bare names for its single model.
    static func tensorName(_ name: String, member m: Int, format: String) -> String {
        format == DistortionModelCard.readableFormats[0] ? name : "fold\(m).\(name)"
    }

    /// Writes `classifier.safetensors` and `card.json` into `directory` (created if needed), atomically.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (m, member) in members.enumerated() {
            let name = { DistortionClassifier.tensorName($0, member: m, format: card.format) }
            let d = member.standardizer.mean.count
            tensors[name("mean")] = Tensor(shape: [d], values: member.standardizer.mean)
            tensors[name("scale")] = Tensor(shape: [d], values: member.standardizer.scale)
            tensors[name("weight")] = Tensor(shape: [member.model.weights.count], values: member.model.weights)
            tensors[name("bias")] = Tensor(shape: [1], values: [member.model.bias])
        }
        try writeSafetensors(tensors, metadata: ["format": card.format, "feature_provider": card.featureProvider,
                                                 "threshold": String(card.threshold)],
                             to: directory.appendingPathComponent(DistortionClassifier.weightsFile))
        try writeAtomically(try encodeJSON(card, style: .document), to: directory.appendingPathComponent(DistortionClassifier.cardFile))
    }

    /// Reads a classifier saved by `save(to:)` (format 1 or 2).
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
        guard DistortionModelCard.readableFormats.contains(card.format) else {
            throw FormatError(cardURL, field: "format", expected: DistortionModelCard.readableFormats.joined(separator: " or "), found: card.format)
        }
        let isFormat1 = card.format == DistortionModelCard.readableFormats[0]
        if !isFormat1 && card.calibration == nil {
            throw FormatError(cardURL, field: "calibration", expected: "the cross-fitted calibration of a \(card.format) card", found: "none")
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
        let memberCount = isFormat1 ? 1 : card.calibration!.folds
        let members = try (0..<memberCount).map { m in
            let name = { tensorName($0, member: m, format: card.format) }
            return Member(standardizer: Standardizer(mean: try vector(name("mean"), d), scale: try vector(name("scale"), d)),
                          model: LogisticRegression(weights: try vector(name("weight"), 2 * d), bias: try vector(name("bias"), 1)[0]))
        }
        return DistortionClassifier(card: card, members: members)
    }
}
