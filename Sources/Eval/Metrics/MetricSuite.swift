import Foundation
import TensorCore
import TensorIO

/// Every metric of ADM's table and its successors from one feature pass over each input:
/// FID and sFID (statistics; a reference batch's precomputed mu/sigma are used as ADM does),
/// IS (samples' pool3 through the 1008-class head), precision/recall (ADM ManifoldEstimator),
/// density/coverage (prdc) and KID (clean-fid), with every convention recorded in the result.
public enum MetricSuite {
    public struct Settings: Codable, Sendable {
        public var k = 3
        public var densityK = 5
        public var distancePrecision: DistancePrecision = .fp32
        public var kidSubsets = 100
        public var kidSubsetSize = 1000
        public var kidSeed: UInt32 = 0
        public var isSplits = 10
        /// FID∞, IS∞ and the FID bootstrap interval (`eval --fid-infinity`); nil: not computed.
        public var unbiased: UnbiasedSettings?
        public init() {}

        enum CodingKeys: String, CodingKey {
            case k, densityK = "density_k", distancePrecision = "pr_precision", kidSubsets = "kid_subsets",
                 kidSubsetSize = "kid_subset_size", kidSeed = "seed", isSplits = "is_splits", unbiased = "fid_infinity"
        }
    }

    /// How FID∞/IS∞ extrapolate (see `UnbiasedScores`) and how FID's interval is bootstrapped.
    public struct UnbiasedSettings: Codable, Sendable {
        public var points = 15
        /// Smallest subset; nil: `UnbiasedScores.defaultMinimumSize` (5,000, or half the samples below 10,000).
        public var minimumSize: Int?
        /// numpy RandomState seed of the subsets' shuffles.
        public var seed: UInt32 = 0
        public var bootstrapResamples = 200
        public var confidence = 0.95
        public init() {}

        enum CodingKeys: String, CodingKey {
            case points, minimumSize = "min_size", seed, bootstrapResamples = "bootstrap_resamples", confidence
        }
    }

    public struct Report: Encodable, Sendable {
        public var fid: Double
        public var sfid: Double?
        public var sfidNote: String?
        public var inceptionScore: Double?
        public var inceptionScoreStd: Double?
        public var inceptionScoreNote: String?
        public var precision: Double?
        public var recall: Double?
        public var density: Double?
        public var coverage: Double?
        public var kid: Double?
        public var kidStd: Double?
        public var neighbourNote: String?
        /// `LabelAccuracy`: the share of samples a classifier fitted on the labelled reference assigns
        /// to the label they were drawn for, and the same classifier's cross-fitted accuracy on the reference.
        public var labelAccuracy: LabelAccuracy.Result?
        public var labelAccuracyNote: String?
        public var sampleCount: Int?
        public var referenceCount: Int?
        public var samples: String
        public var reference: String
        public var settings: Settings
        public var seconds: Double = 0
        /// With `Settings.unbiased`: FID∞, IS∞ (null with a note without the 1008-class head) and FID's interval.
        public var fidInfinity: UnbiasedScores.Fit?
        public var inceptionScoreInfinity: UnbiasedScores.Fit?
        public var inceptionScoreInfinityNote: String?
        public var fidInterval: UnbiasedScores.Interval?
        /// What could not be checked about the inputs (e.g. a statistics file that records no preprocessing).
        public var notes: [String] = []
        /// How the feature cache served each side that is images ("samples", "reference").
        public var cache: [String: FeatureCacheUse]?

        enum CodingKeys: String, CodingKey {
            case fid, sfid, sfidNote = "sfid_note", inceptionScore = "is", inceptionScoreStd = "is_std",
                 inceptionScoreNote = "is_note", precision, recall, density, coverage, kid, kidStd = "kid_std",
                 neighbourNote = "knn_note", labelAccuracy = "label_accuracy", labelAccuracyReference = "label_accuracy_reference",
                 labelAccuracyNote = "label_accuracy_note", sampleCount = "samples_count", referenceCount = "reference_count",
                 samples, reference, settings, seconds, fidInfinity = "fid_infinity", fidInfinityFit = "fid_infinity_fit",
                 inceptionScoreInfinity = "is_infinity", inceptionScoreInfinityFit = "is_infinity_fit",
                 inceptionScoreInfinityNote = "is_infinity_note", fidCILow = "fid_ci_low", fidCIHigh = "fid_ci_high",
                 fidInterval = "fid_ci", notes, cache
        }

        /// Missing metrics are written as null (with a *_note saying why), never left out.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(fid, forKey: .fid)
            try c.encode(sfid, forKey: .sfid)
            try c.encodeIfPresent(sfidNote, forKey: .sfidNote)
            try c.encode(inceptionScore, forKey: .inceptionScore)
            try c.encode(inceptionScoreStd, forKey: .inceptionScoreStd)
            try c.encodeIfPresent(inceptionScoreNote, forKey: .inceptionScoreNote)
            for (value, key) in [(precision, CodingKeys.precision), (recall, .recall), (density, .density),
                                 (coverage, .coverage), (kid, .kid), (kidStd, .kidStd)] {
                try c.encode(value, forKey: key)
            }
            try c.encodeIfPresent(neighbourNote, forKey: .neighbourNote)
            try c.encode(labelAccuracy?.accuracy, forKey: .labelAccuracy)
            try c.encode(labelAccuracy?.referenceAccuracy, forKey: .labelAccuracyReference)
            try c.encodeIfPresent(labelAccuracyNote, forKey: .labelAccuracyNote)
            try c.encode(sampleCount, forKey: .sampleCount)
            try c.encode(referenceCount, forKey: .referenceCount)
            try c.encode(samples, forKey: .samples)
            try c.encode(reference, forKey: .reference)
            try c.encode(settings, forKey: .settings)
            try c.encode(seconds, forKey: .seconds)
            if let fit = fidInfinity {
                // Top-level numbers (a report reads numbers only), then the fits and the interval.
                try c.encode(fit.value, forKey: .fidInfinity)
                try c.encode(fit, forKey: .fidInfinityFit)
                try c.encode(inceptionScoreInfinity?.value, forKey: .inceptionScoreInfinity)
                try c.encodeIfPresent(inceptionScoreInfinity, forKey: .inceptionScoreInfinityFit)
                try c.encodeIfPresent(inceptionScoreInfinityNote, forKey: .inceptionScoreInfinityNote)
            }
            if let interval = fidInterval {
                try c.encode(interval.low, forKey: .fidCILow)
                try c.encode(interval.high, forKey: .fidCIHigh)
                try c.encode(interval, forKey: .fidInterval)
            }
            try c.encode(notes, forKey: .notes)
            try c.encodeIfPresent(cache, forKey: .cache)
        }
    }

    /// What the suite needs from each side; `features` is nil when the input held statistics only.
    public struct Side {
        public var statistics: StatisticsFile
        public var features: Tensor?
        public var description: String
        /// the class each image was drawn for (`arr_1`), when known
        public var labels: [Int]?
        /// this side's cross-fitted label accuracy as a reference, once computed (a scorer that
        /// reuses the side for every checkpoint sets it from the first report)
        public var knownLabelAccuracy: Double?
        public var count: Int? { features?.shape[0] ?? statistics.pool.count }
        public init(statistics: StatisticsFile, features: Tensor?, description: String, labels: [Int]? = nil) {
            self.statistics = statistics; self.features = features; self.description = description; self.labels = labels
        }
    }

    /// fcWeight: (1008, 2048) when the weights carry the classifier; nil → IS is null with `fcNote`.
    public static func evaluate(samples: Side, reference: Side, fcWeight: Tensor?, fcNote: String,
                                settings: Settings) throws -> Report {
        let start = Date()
        let fid = try frechetDistance(samples.statistics.pool, reference.statistics.pool)
        var report = Report(fid: fid, samples: samples.description, reference: reference.description, settings: settings)
        report.sampleCount = samples.count
        report.referenceCount = reference.count
        if let a = samples.statistics.spatial, let b = reference.statistics.spatial {
            report.sfid = try frechetDistance(a, b)
        } else {
            report.sfidNote = "spatial statistics (mu_s, sigma_s) missing from the \(samples.statistics.spatial == nil ? "samples" : "reference")"
        }
        guard let fake = samples.features else {
            throw MetricError("\(samples.description): the samples are statistics only; IS, precision/recall and KID need per-image features (pass images or a features file)")
        }
        if let fcWeight {
            let score = try InceptionScore.compute(pool: fake, classifier: fcWeight, defaultSplits: settings.isSplits)
            report.inceptionScore = score.mean
            report.inceptionScoreStd = score.std
        } else {
            report.inceptionScoreNote = fcNote
        }
        if let real = reference.features {
            let estimator = ManifoldEstimator(k: settings.k, densityK: settings.densityK, precision: settings.distancePrecision)
            // Distances evaluated, shown on a terminal (minutes at 50k × 50k).
            let meter = Progress(total: estimator.work(referenceCount: real.shape[0], sampleCount: fake.shape[0]),
                                 label: "k-NN distances", unit: "dist")
            let manifold = try estimator.evaluate(reference: real, samples: fake) { meter.advance(by: $0) }
            meter.finish()
            report.precision = manifold.precision
            report.recall = manifold.recall
            report.density = manifold.density
            report.coverage = manifold.coverage
            let kid = try KernelInceptionDistance.compute(reference: real, samples: fake, subsets: settings.kidSubsets,
                                                          subsetSize: settings.kidSubsetSize, seed: settings.kidSeed)
            report.kid = kid.mean
            report.kidStd = kid.std
            report.settings.kidSubsetSize = kid.subsetSize
        } else {
            report.neighbourNote = "\(reference.description): reference has statistics only; precision, recall, density, coverage and KID need its images or features"
        }
        report.labelAccuracyNote = labelAccuracyUnavailable(samples: samples, reference: reference)
        if report.labelAccuracyNote == nil, let real = reference.features, let realLabels = reference.labels, let labels = samples.labels {
            report.labelAccuracy = try LabelAccuracy.compute(reference: real, referenceLabels: realLabels, samples: fake, sampleLabels: labels,
                                                             referenceName: reference.description, samplesName: samples.description,
                                                             knownReferenceAccuracy: reference.knownLabelAccuracy)
            if let excluded = report.labelAccuracy?.excluded, excluded > 0 {
                report.notes.append("label accuracy: \(excluded) of \(fake.shape[0]) samples were drawn for classes the reference does not hold and are left out")
            }
        }
        if let unbiased = settings.unbiased {
            report.fidInfinity = try UnbiasedScores.fidInfinity(samples: fake, reference: reference.statistics.pool,
                                                                minimumSize: unbiased.minimumSize, points: unbiased.points, seed: unbiased.seed)
            if let fcWeight {
                report.inceptionScoreInfinity = try UnbiasedScores.inceptionScoreInfinity(
                    samples: fake, classifier: fcWeight, minimumSize: unbiased.minimumSize, points: unbiased.points, seed: unbiased.seed)
            } else {
                report.inceptionScoreInfinityNote = fcNote
            }
            let meter = Progress(total: unbiased.bootstrapResamples, label: "FID bootstrap", unit: "resamples")
            report.fidInterval = try UnbiasedScores.fidBootstrap(samples: fake, reference: reference.statistics.pool,
                                                                 resamples: unbiased.bootstrapResamples, confidence: unbiased.confidence,
                                                                 seed: UInt64(unbiased.seed)) { meter.advance(by: $0) }
            meter.finish()
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Why label accuracy cannot be computed for this pair (nil: it can).
    static func labelAccuracyUnavailable(samples: Side, reference: Side) -> String? {
        guard let realLabels = reference.labels, reference.features != nil else {
            return "\(reference.description): reference has no labelled images (arr_1 beside arr_0); label accuracy needs them"
        }
        guard samples.labels != nil else { return "\(samples.description): samples carry no labels (arr_1); label accuracy needs the class each was drawn for" }
        let classes = Set(realLabels).count
        if realLabels.count > LabelAccuracy.maximumReferenceImages || classes > LabelAccuracy.maximumClasses {
            return "label accuracy skipped: \(realLabels.count) reference images of \(classes) classes; this probe fits at most \(LabelAccuracy.maximumReferenceImages) images of \(LabelAccuracy.maximumClasses) classes"
        }
        return nil
    }
}
