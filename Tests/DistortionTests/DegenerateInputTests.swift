import Distortion
import Foundation
import TensorIO
import XCTest

final class DegenerateInputTests: XCTestCase {
    /// A reference smaller than the minimum is an error naming the file, the minimum and the count.
    func testReferenceTooSmall() throws {
        let url = try writeBatch(Array(try photos("a").prefix(12)), name: "tiny", for: self)
        var options = DistortionTrainingOptions()
        options.progress = false
        XCTAssertThrowsError(try trainDistortionClassifier(reference: openImageSource(url), features: HandcraftedFeatures(), options: options)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tiny.npz"), text)
            XCTAssertTrue(text.contains("at least \(DistortionTrainingOptions.minimumReferenceImages)"), text)
            XCTAssertTrue(text.contains("found 12"), text)
        }
    }

    /// Identical samples and samples of another size are scored, with a note saying so.
    func testIdenticalAndResizedSamples() throws {
        var options = DistortionTrainingOptions()
        options.progress = false
        options.maxTestImagesPerKind = 10
        options.iterations = 50
        options.l2Candidates = [1e-2]
        let model = try trainDistortionClassifier(reference: InMemoryImageSource(Array(try photos("a").prefix(48))),
                                                  features: HandcraftedFeatures(), options: options)
        var scoring = DistortionScoringOptions()
        scoring.progress = false
        let same = [RGBImage](repeating: try photos("b")[0], count: 20)
        let identical = try scoreDistortion(samples: InMemoryImageSource(same), classifier: model, features: HandcraftedFeatures(),
                                            options: scoring).score
        XCTAssertTrue(identical.distortionRate == 0 || identical.distortionRate == 1)
        XCTAssertEqual(identical.ciLow, identical.ciHigh)
        XCTAssertTrue(identical.notes.contains { $0.contains("identical") }, "\(identical.notes)")

        let large = try photos("b").prefix(10).map { $0.resized(width: 64, height: 64) }
        let resized = try scoreDistortion(samples: InMemoryImageSource(large), classifier: model, features: HandcraftedFeatures(),
                                          options: scoring).score
        XCTAssertEqual(resized.resizedFrom, ["64x64"])
        XCTAssertTrue(resized.notes.contains { $0.contains("resized") && $0.contains("32x32") }, "\(resized.notes)")
        XCTAssertEqual(resized.count, 10)

        // The wrong feature provider for a model is an error, not a silently wrong number.
        struct Other: FeatureProvider {
            var name: String { "other" }
            var featureNames: [String] { ["a"] }
            func features(of images: [RGBImage]) throws -> [Float] { [Float](repeating: 0, count: images.count) }
        }
        XCTAssertThrowsError(try scoreDistortion(samples: InMemoryImageSource(large), classifier: model, features: Other(), options: scoring))
    }
}
