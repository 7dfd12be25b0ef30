import Distortion
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// The whole classifier on real photographs (fixtures/distortion/photos32_*.npz) with the
/// hand-made features, so no Inception weights are needed. Trained once for the class.
final class ClassifierTests: XCTestCase {
    nonisolated(unsafe) static var trained: DistortionClassifier?

    func classifier() throws -> DistortionClassifier {
        if let c = Self.trained { return c }
        var options = DistortionTrainingOptions()
        options.maxTestImagesPerKind = 40
        options.iterations = 300
        options.progress = false
        let c = try trainDistortionClassifier(reference: InMemoryImageSource(try photos("a"), name: "photos32_a"),
                                              features: HandcraftedFeatures(), options: options)
        Self.trained = c
        return c
    }

    /// Measured with seed 0: training kinds AUC 0.78, held-out kinds 0.77, patchGrid 0.90, tear 0.94.
    /// Bounds leave room for BLAS rounding, yet a classifier that learned nothing (AUC ≈ 0.5) fails.
    func testSeparatesCleanFromDistorted() throws {
        let card = try classifier().card
        XCTAssertGreaterThan(card.trainingSummary.auc, 0.70, "training kinds on unseen test images")
        XCTAssertGreaterThan(card.heldOutSummary.auc, 0.68, "kinds never trained on")
        let auc = Dictionary(uniqueKeysWithValues: card.perKind.map { ($0.kind, $0.auc) })
        XCTAssertGreaterThan(auc["patchGrid"]!, 0.8)
        XCTAssertGreaterThan(auc["patchPixelation"]!, 0.8)
        XCTAssertEqual(card.perKind.count, DistortionKind.allCases.count)
    }

    /// Cross-fitted conformal calibration on all 240 reference images: the threshold is the
    /// ⌈241 · 0.95⌉ = 229th smallest of the 240 out-of-fold clean scores, so at most 11 (4.6%) lie
    /// above it; the leave-one-fold-out rate (thresholds from the other folds) stays near 5%.
    func testThresholdCalibratedAtFalsePositiveRate() throws {
        let card = try classifier().card
        let calibration = try XCTUnwrap(card.calibration)
        XCTAssertEqual(card.split.calibration, 240)
        XCTAssertEqual(calibration.count, 240)
        XCTAssertEqual(calibration.folds, 5)
        XCTAssertLessThanOrEqual(calibration.flagged, 11)
        XCTAssertGreaterThanOrEqual(calibration.flagged, 9, "ties aside, exactly 240 − 229 = 11 lie above")
        XCTAssertEqual(card.calibrationCleanRate, calibration.achievedFalsePositiveRate)
        XCTAssertLessThanOrEqual(card.testCleanRate, 0.10)
    }

    /// Unseen photographs (other pictures than the reference: rocket, flower, retina, …): clean
    /// ones score above the 5% FPR because they differ from the reference (measured 22%), damaged
    /// ones far above that.
    func testScoresUnseenPhotographs() throws {
        let model = try classifier()
        let clean = try photos("b")
        var options = DistortionScoringOptions()
        options.progress = false
        let cleanScore = try scoreDistortion(samples: InMemoryImageSource(clean), classifier: model, features: HandcraftedFeatures(),
                                             options: options).score
        XCTAssertLessThan(cleanScore.distortionRate, 0.32)
        let damaged = clean.enumerated().map { i, image -> RGBImage in
            var rng = SplitMix64(seed: 9, stream: "test", index: i)
            return distort(image, kind: .patchPixelation, rng: &rng)
        }
        options.keepWorst = 4
        let (damagedScore, worst) = try scoreDistortion(samples: InMemoryImageSource(damaged), classifier: model,
                                                        features: HandcraftedFeatures(), options: options)
        XCTAssertGreaterThan(damagedScore.distortionRate, cleanScore.distortionRate + 0.3)
        XCTAssertEqual(worst.count, 4)
        XCTAssertTrue(zip(worst, worst.dropFirst()).allSatisfy { $0.probability >= $1.probability })
        XCTAssertLessThanOrEqual(damagedScore.ciLow, damagedScore.distortionRate)
        XCTAssertGreaterThanOrEqual(damagedScore.ciHigh, damagedScore.distortionRate)
    }

    func testSaveAndLoadGiveTheSameScores() throws {
        let model = try classifier()
        let dir = try temporaryDirectory(self).appendingPathComponent("model")
        try model.save(to: dir)
        let loaded = try DistortionClassifier.load(from: dir)
        let images = Array(try photos("b").prefix(16))
        let features = try HandcraftedFeatures().features(of: images)
        XCTAssertEqual(model.probabilities(features: features, rows: 16), loaded.probabilities(features: features, rows: 16))
        XCTAssertEqual(loaded.card.threshold, model.card.threshold)
        XCTAssertEqual(loaded.card.heldOutKinds, DistortionKind.heldOut.map(\.rawValue))

        // A damaged weights file is an error naming the tensor, not a crash.
        try writeSafetensors(["mean": Tensor(shape: [3], values: [0, 0, 0])], to: dir.appendingPathComponent(DistortionClassifier.weightsFile))
        XCTAssertThrowsError(try DistortionClassifier.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("mean"), "\(error)")
        }
    }
}
