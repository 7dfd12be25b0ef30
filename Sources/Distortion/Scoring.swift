import Foundation
import TensorCore
import TensorIO

/// The distortion rate of a set of samples: the share with p(distorted) over the classifier's
/// conformal threshold (each sample scored by one cross-fitting fold model, see `DistortionClassifier`), with
/// a bootstrap confidence interval. JSON keys are what `distortion score --json` prints; keys added
/// later are optional, so JSON written before them still reads.
public struct DistortionScore: Codable, Sendable {
    public var source: String
    public var distortionRate: Double
    public var ciLow: Double
    public var ciHigh: Double
    public var confidence: Double
    public var bootstrapResamples: Int
    public var threshold: Double
    /// The false-positive rate on clean images the threshold was chosen for.
    public var falsePositiveRate: Double
    public var count: Int
    public var flagged: Int
    public var meanProbability: Double
    /// Median p(distorted): where the scores sit when nearly all are over the threshold (optional so
    /// that JSON written before it was added still reads).
    public var medianProbability: Double?
    public var featureProvider: String
    /// Samples were resized from these sizes to the classifier's image size (empty when none were).
    public var resizedFrom: [String]
    public var imageSize: String
    public var notes: [String]
    public var perImage: [Double]?
    public var worst: [WorstSample]?
    /// How the classifier's threshold was calibrated and what it achieved (the card's; nil for format 1).
    public var calibration: CalibrationSummary?
    /// The classifier's cross-fitted AUC on distortion kinds it never trained on (see `ClassifierStrength`).
    public var heldOutAUC: Double?
    /// Whether the samples lie on the reference's data manifold at all (set by the command, from
    /// Inception features; nil when not measured).
    public var realism: RealismCheck?
    /// Per-sample evidence images written by `distortion score --heatmap` (nil when none).
    public var heatmaps: [String]?

    public struct WorstSample: Codable, Sendable {
        public var index: Int
        public var probability: Double
    }

    public init(source: String, distortionRate: Double, ciLow: Double, ciHigh: Double, confidence: Double,
                bootstrapResamples: Int, threshold: Double, falsePositiveRate: Double, count: Int, flagged: Int,
                meanProbability: Double, featureProvider: String, resizedFrom: [String], imageSize: String,
                notes: [String], perImage: [Double]? = nil, worst: [WorstSample]? = nil, medianProbability: Double? = nil) {
        self.source = source; self.distortionRate = distortionRate; self.ciLow = ciLow; self.ciHigh = ciHigh
        self.confidence = confidence; self.bootstrapResamples = bootstrapResamples; self.threshold = threshold
        self.falsePositiveRate = falsePositiveRate; self.count = count; self.flagged = flagged
        self.meanProbability = meanProbability; self.featureProvider = featureProvider; self.resizedFrom = resizedFrom
        self.imageSize = imageSize; self.notes = notes; self.perImage = perImage; self.worst = worst
        self.medianProbability = medianProbability
    }

    enum CodingKeys: String, CodingKey {
        case source, distortionRate = "distortion_rate", ciLow = "ci_low", ciHigh = "ci_high", confidence
        case bootstrapResamples = "bootstrap_resamples", threshold, falsePositiveRate = "false_positive_rate"
        case count, flagged, meanProbability = "mean_probability", medianProbability = "median_probability"
        case featureProvider = "feature_provider"
        case resizedFrom = "resized_from", imageSize = "image_size", notes, perImage = "per_image", worst
        case calibration, heldOutAUC = "held_out_auc", realism, heatmaps
    }
}

public struct DistortionScoringOptions: Sendable {
    public var bootstrapResamples = 1000
    public var confidence = 0.95
    public var seed: UInt64 = 0
    /// Keep this many of the highest-scoring samples (their images too, for the figure).
    public var keepWorst = 0
    public var perImage = false
    public var progress = true
    public init() {}
}

/// Scores every sample of `samples` (streamed in batches) with `classifier`. Samples of another
/// size than the classifier's are resized to it, and the score says so. Returns the score and
/// the `keepWorst` most distorted samples, highest first.
public func scoreDistortion(samples: any ImageSource, classifier: DistortionClassifier, features provider: FeatureProvider,
                            options: DistortionScoringOptions = DistortionScoringOptions())
    throws -> (score: DistortionScore, worst: [(index: Int, probability: Double, image: RGBImage)]) {
    let card = classifier.card
    guard provider.name == card.featureProvider, provider.dimension == card.featureCount else {
        throw FormatError(file: "classifier", field: "feature provider",
                          expected: "\(card.featureProvider) (\(card.featureCount) features), as the classifier was trained with",
                          found: "\(provider.name) (\(provider.dimension) features)")
    }
    var probabilities: [Double] = []
    probabilities.reserveCapacity(samples.count)
    var worst: [(index: Int, probability: Double, image: RGBImage)] = []
    var resizedFrom = Set<String>()
    var first: RGBImage?
    var allIdentical = true
    let progress = Progress(total: samples.count, label: "distortion score", enabled: options.progress ? nil : false)
    try samples.forEachBatch(size: 64) { start, batch in
        let images = batch.map { image -> RGBImage in
            if first == nil { first = image } else if allIdentical && image != first! { allIdentical = false }
            guard image.width != card.imageWidth || image.height != card.imageHeight else { return image }
            resizedFrom.insert("\(image.width)x\(image.height)")
            return image.resized(width: card.imageWidth, height: card.imageHeight)
        }
        let p = classifier.probabilities(features: try provider.features(of: images), rows: images.count)
        probabilities += p
        if options.keepWorst > 0 {
            for (i, pi) in p.enumerated() where worst.count < options.keepWorst || pi > worst.last!.probability {
                worst.append((start + i, pi, batch[i]))
                worst.sort { $0.probability > $1.probability }
                if worst.count > options.keepWorst { worst.removeLast() }
            }
        }
        progress.advance(by: batch.count)
    }
    progress.finish()
    guard !probabilities.isEmpty else {
        throw FormatError(samples.url, field: "images", expected: "at least one sample", found: "none")
    }
    let flags = probabilities.map { $0 > classifier.threshold }
    let estimate = bootstrapProportion(flags, resamples: options.bootstrapResamples, confidence: options.confidence, seed: options.seed)
    var notes: [String] = []
    if !resizedFrom.isEmpty {
        notes.append("samples of size \(resizedFrom.sorted().joined(separator: ", ")) were resized to the classifier's \(card.imageWidth)x\(card.imageHeight) (the reference size)")
    }
    if allIdentical && probabilities.count > 1 {
        notes.append("all \(probabilities.count) samples are identical: the rate is 0 or 1 and the interval says nothing about the model")
    }
    notes += ClassifierStrength(card: card).notes
    if card.calibration == nil {
        notes.append("this classifier (\(card.format)) was calibrated on one held-out split, not cross-fitted: its false-positive rate on unseen clean images can exceed the target (retrain it)")
    }
    var score = DistortionScore(
        source: samples.url.path, distortionRate: estimate.rate, ciLow: estimate.low, ciHigh: estimate.high,
        confidence: estimate.confidence, bootstrapResamples: estimate.resamples, threshold: classifier.threshold,
        falsePositiveRate: card.falsePositiveRate, count: estimate.count, flagged: estimate.flagged,
        meanProbability: probabilities.reduce(0, +) / Double(probabilities.count), featureProvider: card.featureProvider,
        resizedFrom: resizedFrom.sorted(), imageSize: "\(card.imageWidth)x\(card.imageHeight)", notes: notes,
        perImage: options.perImage ? probabilities : nil,
        worst: options.keepWorst > 0 ? worst.map { .init(index: $0.index, probability: $0.probability) } : nil,
        medianProbability: median(probabilities))
    score.calibration = card.calibration
    score.heldOutAUC = card.heldOutSummary.auc
    return (score, worst)
}

/// Pairwise comparison of distortion rates (two-proportion z-tests, Holm-adjusted) and, when the
/// per-image scores are given, of the scores themselves (Mann–Whitney U tests, Holm-adjusted).
public struct DistortionComparison: Codable, Sendable {
    public var labels: [String]
    public var scores: [DistortionScore]
    public var pairs: [Pair]

    /// Rates at or above this are saturated: nearly every sample of every model is flagged and the
    /// rates cannot rank the models, while their scores still may.
    public static let saturatedRate = 0.95

    public struct Pair: Codable, Sendable {
        public var a: String
        public var b: String
        public var difference: Double
        public var z: Double
        public var p: Double
        public var pHolm: Double
        public var significant: Bool
        /// The rank test on p(distorted); nil without per-image scores (and in JSON written before it existed).
        public var scoreTest: ScoreTest?

        enum CodingKeys: String, CodingKey { case a, b, difference, z, p, pHolm = "p_holm", significant, scoreTest = "score_test" }
    }

    /// Mann–Whitney U test of a's per-image p(distorted) against b's (see `mannWhitneyUTest`).
    /// superiority > 0.5: a random sample of a scores higher — looks more distorted — than one of b.
    public struct ScoreTest: Codable, Sendable {
        public var u: Double
        public var p: Double
        public var pHolm: Double
        public var superiority: Double
        public var significant: Bool

        enum CodingKeys: String, CodingKey { case u, p, pHolm = "p_holm", superiority, significant }
    }

    /// Every pair of `scores` tested; `significant` at level `alpha` after Holm's correction, which
    /// runs separately over the rate tests and over the score tests. `perImage` (one array of
    /// p(distorted) per score, in the same order) adds the score tests.
    public init(labels: [String], scores: [DistortionScore], perImage: [[Double]]? = nil, alpha: Double = 0.05) {
        precondition(labels.count == scores.count, "one label per score")
        precondition(perImage.map { $0.count == scores.count } ?? true, "one per-image array per score")
        self.labels = labels
        self.scores = scores
        var pairs: [Pair] = []
        for i in 0..<scores.count {
            for j in (i + 1)..<max(i + 1, scores.count) {
                let (z, p) = twoProportionZTest(flagged1: scores[i].flagged, count1: scores[i].count,
                                                flagged2: scores[j].flagged, count2: scores[j].count)
                let scoreTest = perImage.map { perImage in
                    let t = mannWhitneyUTest(perImage[i], perImage[j])
                    return ScoreTest(u: t.u, p: t.p, pHolm: t.p, superiority: t.superiority, significant: false)
                }
                pairs.append(Pair(a: labels[i], b: labels[j], difference: scores[i].distortionRate - scores[j].distortionRate,
                                  z: z, p: p, pHolm: p, significant: false, scoreTest: scoreTest))
            }
        }
        let adjusted = holmAdjusted(pairs.map(\.p))
        for k in pairs.indices { pairs[k].pHolm = adjusted[k]; pairs[k].significant = adjusted[k] < alpha }
        if perImage != nil {
            let adjustedScores = holmAdjusted(pairs.map { $0.scoreTest!.p })
            for k in pairs.indices {
                pairs[k].scoreTest!.pHolm = adjustedScores[k]
                pairs[k].scoreTest!.significant = adjustedScores[k] < alpha
            }
        }
        self.pairs = pairs
    }

    /// Every rate is at or above `saturatedRate`.
    public var ratesSaturated: Bool { scores.allSatisfy { $0.distortionRate >= Self.saturatedRate } }

    /// The rates cannot rank these models: all are saturated, or no pair's rates differ significantly.
    /// Then the score tests, which compare the whole distributions of p(distorted), are the ranking to read.
    public var ratesUninformative: Bool { ratesSaturated || !pairs.contains(where: \.significant) }

    /// What the per-image score tests add when the rates rank nothing: how many pairs they
    /// separate, as a sentence (nil when no pair carries a score test).
    public var scoreRankingSummary: String? {
        let tested = pairs.filter { $0.scoreTest != nil }
        guard !tested.isEmpty else { return nil }
        let separated = tested.filter { $0.scoreTest!.significant }.count
        return separated == 0
            ? "the Mann–Whitney tests on p(distorted) separate no pair either: these samples do not tell the models apart"
            : "the Mann–Whitney tests on p(distorted) separate \(separated) of \(tested.count) pairs: read the ranking from them"
    }
}
