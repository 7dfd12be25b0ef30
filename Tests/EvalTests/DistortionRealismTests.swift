import Distortion
import Eval
import Foundation
import TensorCore
import TensorIO
import XCTest

/// The realism check beside a distortion rate (issue #15, item 2): it reports what
/// `ManifoldEstimator` reports (same numbers, not a second implementation), and calls samples
/// off-manifold exactly when precision or density falls below 0.5.
final class DistortionRealismTests: XCTestCase {
    /// Gaussian features, (n, 16), shifted by `shift` in every dimension.
    func gaussian(_ n: Int, shift: Float, seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed, stream: "realism", index: 0)
        return Tensor(shape: [n, 16], values: (0..<(n * 16)).map { _ in Float(rng.normal()) + shift })
    }

    func testOnAndOffManifold() throws {
        let reference = gaussian(300, shift: 0, seed: 1)
        let same = try measureRealism(reference: reference, samples: gaussian(200, shift: 0, seed: 2))
        let expected = try ManifoldEstimator().evaluate(reference: reference, samples: gaussian(200, shift: 0, seed: 2))
        XCTAssertEqual(same.precision, expected.precision)
        XCTAssertEqual(same.density, expected.density!)
        XCTAssertEqual(same.recall, expected.recall)
        XCTAssertEqual(same.coverage, expected.coverage!)
        XCTAssertEqual(same.referenceCount, 300); XCTAssertEqual(same.sampleCount, 200); XCTAssertEqual(same.k, 3)
        // Samples from the reference's own distribution: most inside its k-NN balls.
        XCTAssertGreaterThan(same.precision, 0.7)
        XCTAssertGreaterThan(same.density, 0.7)
        XCTAssertFalse(same.offManifold)
        XCTAssertTrue(same.notes.isEmpty)

        // Shifted by 3 σ in all 16 dimensions: outside every ball.
        let off = try measureRealism(reference: reference, samples: gaussian(200, shift: 3, seed: 3))
        XCTAssertLessThan(off.precision, 0.05)
        XCTAssertTrue(off.offManifold)
        XCTAssertTrue(off.notes.first?.contains("off the data manifold") ?? false, "\(off.notes)")

        // The JSON says it in so many words, and reads back.
        let json = try jsonText(off, style: .line)
        XCTAssertTrue(json.contains("\"off_manifold\":true"), json)
        XCTAssertEqual(try JSONDecoder().decode(RealismCheck.self, from: Data(json.utf8)), off)
    }

    /// The threshold rule itself: either figure below 0.5 is off-manifold, both at 0.5 are not.
    func testOffManifoldRule() {
        func check(_ precision: Double, _ density: Double) -> Bool {
            RealismCheck(features: "f", k: 3, referenceCount: 10, sampleCount: 10, precision: precision, density: density,
                         recall: 1, coverage: 1).offManifold
        }
        XCTAssertFalse(check(0.5, 0.5))
        XCTAssertTrue(check(0.49, 0.9))
        XCTAssertTrue(check(0.9, 0.49))
    }

    func testTooFewReferenceImagesIsAnError() {
        XCTAssertThrowsError(try measureRealism(reference: gaussian(3, shift: 0, seed: 1), samples: gaussian(5, shift: 0, seed: 2))) { error in
            XCTAssertTrue("\(error)".contains("more than 3 reference images"), "\(error)")
        }
    }
}
