import Distortion
import Foundation
import TensorIO

/// Scores a checkpoint's samples while a model trains (`dimr-eval train`, every --eval-every
/// steps): the samples and the held-out reference images go through the same Inception feature
/// extractor as `dimr-eval eval`. The reference side is computed once per run, and its features
/// come from the feature cache when another run (or this one before `--resume`) held out the
/// same images; each checkpoint's samples are new, so they are never cached.
///
/// Files, in the run folder: `reference.npz` (the held-out images) and `samples/step-NNNNNNNN.npz`
/// (each checkpoint's samples), both ADM batches with labels.
public final class TrainingScorer {
    public let folder: URL
    public let referenceCount: Int
    private let provider: ExtractorProvider
    private let classifierCache: DistortionClassifierCache
    private let log: (String) -> Void
    private var reference: MetricSuite.Side?
    /// Distortion classifier trained once from the held-out reference images (hand-made spectral
    /// and pixel features: seconds, not Inception passes); nil when there are too few of them.
    private var distortion: (DistortionClassifier, FeatureProvider)?

    /// provider: the Inception network and feature cache (default: the weights search and the
    /// user's cache, no progress bars); log: notes for the user (the CLI prints them to stderr).
    public init(folder: URL, referenceCount: Int,
                provider: ExtractorProvider = ExtractorProvider(progress: false, cache: try? FeatureCache()),
                classifierCache: DistortionClassifierCache = DistortionClassifierCache(),
                log: @escaping (String) -> Void) {
        self.folder = folder; self.referenceCount = referenceCount
        self.provider = provider; self.classifierCache = classifierCache; self.log = log
    }

    /// The scores of one checkpoint's samples, under the names of metrics.jsonl: fid, sfid,
    /// precision, recall, density, coverage, kid, label_accuracy(_reference), `is` when the weights
    /// carry the 1008-class head, distortion_rate from `DistortionTrainingOptions
    /// .minimumReferenceImages` reference images on. reference(count): the held-out images with
    /// their labels, asked for at the first call only.
    public func score(step: Int, samples: [RGBImage], labels: [Int],
                      reference heldOutImages: (Int) -> [(image: RGBImage, label: Int)]) throws -> [String: Double] {
        let dir = folder.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if reference == nil {
            let url = folder.appendingPathComponent("reference.npz")
            let held = heldOutImages(referenceCount)
            try writeADMBatch(held.map(\.image), labels: held.map(\.label), to: url)
            reference = try side(url, cached: true)
            if referenceCount >= DistortionTrainingOptions.minimumReferenceImages {
                let features = HandcraftedFeatures()
                distortion = (try classifierCache.classifier(reference: url, features: features,
                                                             options: DistortionTrainingOptions(), log: log).0, features)
            } else {
                log("distortion rate not scored: it needs at least \(DistortionTrainingOptions.minimumReferenceImages) reference images (--reference-count)")
            }
        }
        let url = dir.appendingPathComponent(String(format: "step-%08d.npz", step))
        try writeADMBatch(samples, labels: labels, to: url)
        let fake = try side(url, cached: false)
        var settings = MetricSuite.Settings()
        settings.kidSubsetSize = min(settings.kidSubsetSize, samples.count, referenceCount)
        settings.isSplits = 1
        let extractor = try provider.get()
        let report = try MetricSuite.evaluate(samples: fake, reference: reference!, fcWeight: extractor.fcWeight,
                                              fcNote: "no 1008-class head in the weights", settings: settings)
        reference?.knownLabelAccuracy = report.labelAccuracy?.referenceAccuracy   // the same at every checkpoint
        var out: [String: Double] = ["fid": report.fid]
        if let (classifier, features) = distortion {
            var options = DistortionScoringOptions()
            options.bootstrapResamples = 200
            out["distortion_rate"] = try scoreDistortion(samples: InMemoryImageSource(samples, name: url.lastPathComponent),
                                                         classifier: classifier, features: features, options: options).score.distortionRate
        }
        for (k, v) in [("sfid", report.sfid), ("is", report.inceptionScore), ("precision", report.precision),
                       ("recall", report.recall), ("density", report.density), ("coverage", report.coverage), ("kid", report.kid),
                       ("label_accuracy", report.labelAccuracy?.accuracy), ("label_accuracy_reference", report.labelAccuracy?.referenceAccuracy)] {
            if let v { out[k] = v }
        }
        return out
    }

    private func side(_ url: URL, cached: Bool) throws -> MetricSuite.Side {
        let input = try EvalInput(url)
        input.usesCache = cached
        return try MetricSuite.Side(input, provider, description: url.lastPathComponent)
    }
}
