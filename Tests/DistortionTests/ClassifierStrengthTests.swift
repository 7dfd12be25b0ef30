import Distortion
import Foundation
import TensorCore
import TensorIO
import XCTest

/// Issue #15, item 2: a classifier that learnt nothing must not report a tidy rate. The issue's
/// 40-image noise reference gave held-out AUC 0.47, rate 0, CI [0, 0] and empty notes. With the
/// hand-made features no real 40-image reference is that blind (uniform noise measured 0.70–0.77,
/// flat colours 0.625: patch-grid and mosaic kinds still show), so the classifier that learns
/// nothing here is one whose features carry no information: random values keyed by a counter,
/// not the image. It is refused; forced, it carries a note. The flat-colour reference's 0.625 is
/// the warning case (CLITests.DistortionCommandTests).
final class ClassifierStrengthTests: XCTestCase {
    /// Features that ignore the image: whatever the regression fits is noise.
    final class Blind: FeatureProvider, @unchecked Sendable {
        var calls = 0
        var name: String { "blind" }
        var featureNames: [String] { (0..<8).map { "blind\($0)" } }
        func features(of images: [RGBImage]) throws -> [Float] {
            calls += 1
            var rng = SplitMix64(seed: 11, stream: "blind", index: calls)
            return (0..<(images.count * 8)).map { _ in Float(rng.normal()) }
        }
    }

    static func noise(_ count: Int, seed: UInt64) -> [RGBImage] {
        (0..<count).map { i in
            var rng = SplitMix64(seed: seed, stream: "noise", index: i)
            return RGBImage(width: 32, height: 32, pixels: (0..<(32 * 32 * 3)).map { _ in UInt8(rng.below(256)) })
        }
    }

    func testNoiseReferenceIsRefusedAndForcedWithANote() throws {
        var options = DistortionTrainingOptions()
        options.progress = false
        let blind = Blind()
        let model = try trainDistortionClassifier(reference: InMemoryImageSource(Self.noise(40, seed: 1), name: "noise40"),
                                                  features: blind, options: options)
        let strength = ClassifierStrength(card: model.card)
        XCTAssertLessThan(strength.heldOutAUC, ClassifierStrength.refuseBelow, "noise must not teach the classifier anything")
        XCTAssertTrue(strength.refused)
        XCTAssertThrowsError(try strength.check(force: false, classifier: "noise40/card.json")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("noise40/card.json") && text.contains("held-out AUC") && text.contains("0.6"), text)
        }
        XCTAssertNoThrow(try strength.check(force: true, classifier: "noise40/card.json"))
        var scoring = DistortionScoringOptions()
        scoring.progress = false
        let score = try scoreDistortion(samples: InMemoryImageSource(Self.noise(30, seed: 2)), classifier: model,
                                        features: blind, options: scoring).score
        XCTAssertTrue(score.notes.contains { $0.contains("cannot tell distorted from clean") }, "\(score.notes)")
        XCTAssertEqual(score.heldOutAUC, strength.heldOutAUC)
    }

    /// The boundaries: < 0.6 refused, 0.6 ≤ AUC < 0.7 a warning note, ≥ 0.7 nothing; NaN refused.
    func testThresholds() throws {
        let model = try trainDistortionClassifier(reference: InMemoryImageSource(Array(try photos("a").prefix(40))),
                                                  features: HandcraftedFeatures(), options: {
                                                      var o = DistortionTrainingOptions(); o.progress = false; o.iterations = 20
                                                      o.l2Candidates = [1]; o.maxTestImagesPerKind = 5; return o
                                                  }())
        for (auc, refused, noteCount) in [(0.59, true, 1), (0.6, false, 1), (0.69, false, 1), (0.7, false, 0), (Double.nan, true, 1)] {
            var card = model.card
            card.heldOutSummary.auc = auc
            let strength = ClassifierStrength(card: card)
            XCTAssertEqual(strength.refused, refused, "AUC \(auc)")
            XCTAssertEqual(strength.notes.count, noteCount, "AUC \(auc)")
            if !refused && noteCount == 1 { XCTAssertTrue(strength.notes[0].contains("weak"), strength.notes[0]) }
        }
    }
}
