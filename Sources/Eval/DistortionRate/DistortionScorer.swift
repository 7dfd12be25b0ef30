import Distortion
import Foundation
import TensorIO

/// A distortion classifier with the features it was trained on, ready to score batches of
/// samples: one batch (`distortion score`) or several side by side (`distortion compare`).
public struct DistortionScorer {
    public let classifier: DistortionClassifier
    public let features: FeatureProvider
    /// The classifier's folder (saved, or its cache entry), for messages.
    public let location: String

    public init(classifier: DistortionClassifier, features: FeatureProvider, location: String) {
        self.classifier = classifier; self.features = features; self.location = location
    }

    /// The distortion rate of the samples in `url` (an ADM .npz, a .npy or a folder of images)
    /// with the realism check beside it when `realism` is given, and the `options.keepWorst`
    /// most distorted samples, highest p(distorted) first.
    public func score(_ url: URL, options: DistortionScoringOptions, realism: RealismReference?) throws
        -> (score: DistortionScore, worst: [(index: Int, probability: Double, image: RGBImage)]) {
        var (score, worst) = try scoreDistortion(samples: try openImageSource(url), classifier: classifier, features: features,
                                                 options: options)
        try realism?.add(to: &score, samples: url)
        return (score, worst)
    }

    /// Every batch's rate with its interval, and each pair tested twice (rates, and per-image
    /// scores: see `DistortionComparison`); labels: one name per batch.
    public func compare(_ samples: [URL], labels: [String], options: DistortionScoringOptions,
                        realism: RealismReference?) throws -> DistortionComparison {
        var options = options
        options.perImage = true   // for the score tests; left out of the scores the comparison keeps
        var scores = try samples.map { try score($0, options: options, realism: realism).score }
        let perImage = scores.map { $0.perImage! }
        for i in scores.indices { scores[i].perImage = nil }
        return DistortionComparison(labels: labels, scores: scores, perImage: perImage)
    }
}

/// The comparison's rates as a bar chart with their intervals, as SVG and/or PNG (`distortion
/// compare -o/--png`; the report draws its own from the comparison's JSON).
public func writeDistortionRateChart(_ comparison: DistortionComparison, confidence: Double, svg: URL?, png: URL?) throws {
    let bars = zip(comparison.labels, comparison.scores).map { IntervalBar(label: $0, value: $1.distortionRate, low: $1.ciLow, high: $1.ciHigh) }
    let title = "Distortion rate (\(Int(confidence * 100))% bootstrap CI)"
    if let svg {
        try writeAtomically(Data(standaloneSVG(svgBarChart(bars, title: title, yLabel: "distortion rate")).utf8), to: svg)
    }
    if let png {
        try writeAtomically(try encodePNG(rasterBarChart(bars, title: title, yLabel: "distortion rate")), to: png)
    }
}
