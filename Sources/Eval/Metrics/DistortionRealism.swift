import Distortion
import TensorCore

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
