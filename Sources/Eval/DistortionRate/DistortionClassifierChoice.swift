import Distortion
import Foundation

/// Which distortion classifier scores samples (`distortion score | compare`, the demo): one saved
/// by `distortion train`, or one trained from a reference batch and kept in the classifier cache
/// (`DistortionClassifierCache`), so that the next command with the same reference and settings
/// does not train it again.
public struct DistortionClassifierChoice {
    /// Features of a newly trained classifier: auto (Inception when its weights are found, else
    /// hand-made), inception, or handcrafted (spectral + image statistics: seconds, not minutes).
    public enum Features: String, CaseIterable, Sendable { case auto, inception, handcrafted }

    public enum Origin {
        /// a classifier folder written by `distortion train`
        case saved(URL)
        /// trained from these clean reference images (or found in the cache)
        case trained(reference: URL)
    }

    public var origin: Origin
    public var features: Features = .auto
    /// Inception weights; nil: the usual search (`WeightsLocator`).
    public var weights: URL?
    public var training = DistortionTrainingOptions()
    /// Score even with a classifier too weak to see distortion (held-out AUC below
    /// `ClassifierStrength.refuseBelow`); the scores carry a note saying so.
    public var force = false
    /// Where trained classifiers are kept (default: under the dimr-eval cache).
    public var cache = DistortionClassifierCache()

    public init(origin: Origin) { self.origin = origin }

    /// The feature provider a model card names, or, for `name` nil, the one `features` chooses.
    /// log: why `auto` fell back to the hand-made features.
    public func featureProvider(named name: String? = nil, log: (String) -> Void) throws -> FeatureProvider {
        let wanted: Features = switch name {
        case nil: features
        case HandcraftedFeatures.providerName?: .handcrafted
        case InceptionDistortionFeatures.providerName?: .inception
        case let other?: throw MetricError("the classifier uses features '\(other)', which this dimr-eval does not know")
        }
        switch wanted {
        case .handcrafted: return HandcraftedFeatures()
        case .inception: return try InceptionDistortionFeatures(weights: weights)
        case .auto:
            do { return try InceptionDistortionFeatures(weights: weights) } catch {
                log("Inception weights not available (\(error)); using the hand-made spectral and pixel features")
                return HandcraftedFeatures()
            }
        }
    }

    /// The classifier, loaded or trained (log: the training's progress and the cache's notes).
    /// One too weak to see distortion (held-out AUC < 0.6) is refused unless `force`.
    public func scorer(log: @escaping (String) -> Void) throws -> DistortionScorer {
        let scorer: DistortionScorer
        switch origin {
        case .saved(let folder):
            let loaded = try DistortionClassifier.load(from: folder)
            scorer = DistortionScorer(classifier: loaded, features: try featureProvider(named: loaded.card.featureProvider, log: log),
                                      location: folder.path)
        case .trained(let reference):
            let chosen = try featureProvider(log: log)
            let (trained, folder) = try cache.classifier(reference: reference, features: chosen, options: training, log: log)
            scorer = DistortionScorer(classifier: trained, features: chosen, location: folder.path)
        }
        try ClassifierStrength(card: scorer.classifier.card).check(force: force, classifier: scorer.location + "/" + DistortionClassifier.cardFile)
        return scorer
    }
}
