import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// Distortion classifiers trained from a reference batch, kept on disk: `distortion score --ref`
/// and `train`'s checkpoint scorer train one the first time a reference, feature provider and
/// settings are seen and load it every time after. An entry is a classifier folder
/// (`DistortionClassifier.save`) named by `key`.
public struct DistortionClassifierCache {
    /// $DIMR_EVAL_CACHE/distortion (default ~/.cache/dimr-eval/distortion), beside the feature cache.
    public static var defaultRoot: URL { WeightsLocator.cacheDirectory.appendingPathComponent("distortion") }

    public let root: URL

    public init(root: URL = DistortionClassifierCache.defaultRoot) { self.root = root }

    /// 16 hex digits, FNV-1a of what decides the classifier: the reference (its path, size and
    /// modification time, read from the directory entry: hashing the images would read the whole
    /// batch on every call), the feature provider, the settings `distortion` exposes (seed, FPR,
    /// --max-reference) and the card format (a new format never loads an old entry).
    public static func key(reference: URL, featureProvider: String, options: DistortionTrainingOptions) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: reference.path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let text = [reference.standardizedFileURL.path, "\(size)", "\(modified)", featureProvider, "\(options.seed)",
                    "\(options.falsePositiveRate)", "\(options.maxReferenceImages)", DistortionModelCard.currentFormat]
            .joined(separator: "|")
        return String(format: "%016llx", FNV1a.of(text))
    }

    /// The entry folder of a classifier trained from `reference` with `featureProvider` and `options`.
    public func folder(reference: URL, featureProvider: String, options: DistortionTrainingOptions) -> URL {
        root.appendingPathComponent(Self.key(reference: reference, featureProvider: featureProvider, options: options))
    }

    /// The classifier trained from `reference` with `provider` and `options`: the cached one when
    /// its entry loads, otherwise trained now and saved. Returns it with its folder; `log` gets
    /// which of the two happened and the training's progress (the CLI prints it to stderr).
    public func classifier(reference: URL, features provider: FeatureProvider, options: DistortionTrainingOptions,
                           log: (String) -> Void) throws -> (DistortionClassifier, URL) {
        let cached = folder(reference: reference, featureProvider: provider.name, options: options)
        if let classifier = try? DistortionClassifier.load(from: cached) {
            log("using the cached classifier \(cached.path) (trained from \(reference.path))")
            return (classifier, cached)
        }
        log("training a distortion classifier from \(reference.path) (cached in \(cached.path) for next time)")
        let classifier = try trainDistortionClassifier(reference: try openImageSource(reference), features: provider,
                                                       options: options, log: log)
        try classifier.save(to: cached)
        log(String(format: "classifier: held-out kinds AUC %.3f, clean test images flagged %.1f%% (FPR %.1f%%)",
                   classifier.card.heldOutSummary.auc, classifier.card.testCleanRate * 100, options.falsePositiveRate * 100))
        return (classifier, cached)
    }
}
