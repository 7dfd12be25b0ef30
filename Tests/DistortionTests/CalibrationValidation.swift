import DiMRTrainer
import Distortion
import Foundation
import TensorCore
import TensorIO
import XCTest

/// The figures of VALIDATION.md's calibration tables (gated: a few minutes on 2 cores). For each
/// source and reference size, 10 references drawn independently (seeds 0…9), each trained with
/// hand-made features and scored on 256 unseen clean images of the same source; prints one row
/// per reference and a summary per size (mean flagged share, how many fell inside the binomial
/// range of 5% and inside the conformal range). Run with
///     DIMR_DISTORTION_CALIBRATION_VALIDATION=1 swift test -c release --disable-testable-imports --filter CalibrationValidation
final class CalibrationValidation: XCTestCase {
    func testHeldOutFalsePositiveRateOverReferences() throws {
        guard ProcessInfo.processInfo.environment["DIMR_DISTORTION_CALIBRATION_VALIDATION"] != nil else {
            throw XCTSkip("set DIMR_DISTORTION_CALIBRATION_VALIDATION=1 to measure the held-out FPR over 10 references per size")
        }
        let shapes = EmbeddedShapes(seed: 0)
        let fresh = try LoadedImages(openImageSource(fixtures.appendingPathComponent("photos32_a_fresh.npz"))).images
        let sources: [(name: String, reference: (Int, UInt64) -> [RGBImage], heldOut: [RGBImage])] = [
            ("shapes", { n, seed in (0..<n).map { shapes.image(Int(seed) * 10_000 + $0).image } },
             (500_000..<500_256).map { shapes.image($0).image }),
            // A seeded subset of the first 1,024 fresh crops (all of them at n = 1,024, then only the folds differ).
            ("photos", { n, seed in freshSubset(fresh, n, seed: seed) }, Array(fresh[1024...])),
        ]
        for source in sources {
            for n in [128, 256, 1024] {
                var shares: [Double] = [], insideBinomial = 0, insideConformal = 0
                let binomial = binomialRange(trials: 256, probability: 0.05)
                let conformal = conformalFlaggedRange(calibrationCount: n, heldOut: 256, falsePositiveRate: 0.05)
                for seed in UInt64(0)..<10 {
                    var options = DistortionTrainingOptions()
                    options.progress = false
                    options.seed = seed
                    options.maxReferenceImages = n
                    options.maxTestImagesPerKind = 40
                    let model = try trainDistortionClassifier(reference: InMemoryImageSource(source.reference(n, seed)),
                                                              features: HandcraftedFeatures(), options: options)
                    var scoring = DistortionScoringOptions()
                    scoring.progress = false
                    let score = try scoreDistortion(samples: InMemoryImageSource(source.heldOut), classifier: model,
                                                    features: HandcraftedFeatures(), options: scoring).score
                    shares.append(score.distortionRate)
                    if binomial.contains(score.flagged) { insideBinomial += 1 }
                    if conformal.contains(score.flagged) { insideConformal += 1 }
                    print(String(format: "row %@ n=%d seed=%d flagged=%d share=%.4f crossfit=%.4f foldheldout=%.4f auc=%.3f",
                                 source.name, n, seed, score.flagged, score.distortionRate, model.card.calibration!.achievedFalsePositiveRate,
                                 model.card.calibration!.heldOutFoldRate, model.card.heldOutSummary.auc))
                }
                let mean = shares.reduce(0, +) / Double(shares.count)
                let sd = (shares.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(shares.count - 1)).squareRoot()
                print(String(format: "summary %@ n=%d mean=%.4f sd=%.4f min=%.4f max=%.4f inside_binomial(%d-%d)=%d/10 inside_conformal(%d-%d)=%d/10",
                             source.name, n, mean, sd, shares.min()!, shares.max()!, binomial.lowerBound, binomial.upperBound, insideBinomial,
                             conformal.lowerBound, conformal.upperBound, insideConformal))
            }
        }
    }
}
