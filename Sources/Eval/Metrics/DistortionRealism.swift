import Distortion
import Foundation
import TensorCore
import TensorIO

/// The realism check printed beside a distortion rate (issue #15, `RealismCheck`): precision and
/// density of the samples' Inception pool3 features against the reference's, from the same
/// `ManifoldEstimator` and settings as `eval` (k = 3 for precision/recall as ADM, k′ = 5 for
/// density/coverage as prdc), so the numbers are the ones `eval` would print for these files.
/// reference, samples: (N, 2048) pool3 features.
public func measureRealism(reference: Tensor, samples: Tensor) throws -> RealismCheck {
    let estimator = ManifoldEstimator()
    guard reference.shape[0] > estimator.k else {
        throw MetricError("the realism check needs more than \(estimator.k) reference images (k-NN radii), got \(reference.shape[0])")
    }
    let result = try estimator.evaluate(reference: reference, samples: samples)
    return RealismCheck(features: "inception pool3", k: estimator.k, referenceCount: reference.shape[0], sampleCount: samples.shape[0],
                        precision: result.precision, density: result.density ?? .nan,
                        recall: result.recall, coverage: result.coverage ?? .nan)
}

/// Whether a distortion rate gets the realism check beside it: auto (when Inception weights are
/// found; a note says when they are not), on (missing weights are an error), off.
public enum RealismChoice: String, CaseIterable, Sendable { case auto, on, off }

/// The reference side of the realism check: its Inception pool3 features, computed once through
/// the feature cache (so a reference `eval` or `fid` has seen costs nothing), against which each
/// batch of samples is measured.
public struct RealismReference {
    public let features: Tensor
    private let extractor: ExtractorProvider

    /// nil when `choice` is off, or auto and the reference or the weights are missing (`log` says
    /// why). weights: nil for the usual search; cache: the feature cache (default: the user's).
    public static func load(_ choice: RealismChoice, reference path: String, weights: URL?, cache: FeatureCache? = try? FeatureCache(),
                            log: (String) -> Void) throws -> RealismReference? {
        guard choice != .off else { return nil }
        let extractor = ExtractorProvider(weights: weights, progress: false, cache: cache)
        do {
            guard FileManager.default.fileExists(atPath: path) else {
                throw FormatError(file: path, field: "reference", expected: "the reference images (give --ref) for the realism check", found: "no such file")
            }
            _ = try extractor.weightsSHA1()
            return RealismReference(features: try EvalInput(URL(fileURLWithPath: path)).features(extractor).pool, extractor: extractor)
        } catch where choice == .auto {
            log("realism check skipped (\(error)); --realism on makes this an error")
            return nil
        }
    }

    /// Adds the realism check of the samples in `url` to `score` (and its notes, when they are off the data manifold).
    public func add(to score: inout DistortionScore, samples url: URL) throws {
        let check = try measureRealism(reference: features, samples: try EvalInput(url).features(extractor).pool)
        score.realism = check
        score.notes += check.notes
    }
}
