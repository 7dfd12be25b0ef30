import Eval
import Foundation
import TensorCore
import XCTest

/// Precision/recall (ADM's ManifoldEstimator, as in the anchors kit) and density/coverage (prdc)
/// against fixtures/metrics/golden.json. The fixture features are multiples of 1/16, so every
/// distance is exact in float32 and the counts must match exactly (tolerance 0).
final class ManifoldEstimatorTests: XCTestCase {
    let real = FixtureFeatures.reference.pool, fake = FixtureFeatures.samples.pool

    func testPrecisionRecallK3MatchesADM() throws {
        // Small tiles so the blocked passes (diagonal and off-diagonal tiles, ragged edges) are exercised.
        for block in [2048, 96] {
            let r = try ManifoldEstimator(k: 3, densityK: 5, blockSize: block).evaluate(reference: real, samples: fake)
            XCTAssertEqual(r.precision, goldenValue("pr_k3_fp32.precision"), "precision, block \(block)")
            XCTAssertEqual(r.recall, goldenValue("pr_k3_fp32.recall"), "recall, block \(block)")
            XCTAssertEqual(r.density!, goldenValue("prdc_k5.density"), accuracy: 1e-12, "density (prdc, k=5)")
            XCTAssertEqual(r.coverage!, goldenValue("prdc_k5.coverage"), accuracy: 1e-12, "coverage (prdc, k=5)")
        }
    }

    /// Precision/recall without density/coverage (what `bench metrics` times), at several block
    /// sizes, and the two extreme cases.
    func testPrecisionRecallAlone() throws {
        for block in [2048, 96, 37] {
            let r = try ManifoldEstimator(k: 3, densityK: nil, blockSize: block).evaluate(reference: real, samples: fake)
            XCTAssertEqual(r.precision, goldenValue("pr_k3_fp32.precision"), "precision, block \(block)")
            XCTAssertEqual(r.recall, goldenValue("pr_k3_fp32.recall"), "recall, block \(block)")
            XCTAssertNil(r.density)
        }
        // Disjoint clouds: nothing inside, every pair computed; identical clouds: everything inside.
        let a = Tensor(shape: [40, 8], values: (0..<320).map { Float($0 % 13) })
        let far = Tensor(shape: [40, 8], values: (0..<320).map { Float($0 % 13) + 1000 })
        let apart = try ManifoldEstimator(k: 3, densityK: nil, blockSize: 16).evaluate(reference: a, samples: far)
        XCTAssertEqual(apart.precision, 0); XCTAssertEqual(apart.recall, 0)
        let same = try ManifoldEstimator(k: 3, densityK: nil, blockSize: 16).evaluate(reference: a, samples: a)
        XCTAssertEqual(same.precision, 1); XCTAssertEqual(same.recall, 1)
    }

    func testOtherNeighbourhoodSizes() throws {
        let r = try ManifoldEstimator(k: 5, densityK: 3, blockSize: 128).evaluate(reference: real, samples: fake)
        XCTAssertEqual(r.precision, goldenValue("pr_k5_fp32.precision"))
        XCTAssertEqual(r.recall, goldenValue("pr_k5_fp32.recall"))
        XCTAssertEqual(r.density!, goldenValue("prdc_k3.density"), accuracy: 1e-12)
        XCTAssertEqual(r.coverage!, goldenValue("prdc_k3.coverage"), accuracy: 1e-12)
    }

    /// ADM's float16 distance block, against the numpy emulation in scripts/fixtures/metrics_make.py.
    func testHalfPrecisionDistancesMatchADMEmulation() throws {
        let r = try ManifoldEstimator(k: 3, densityK: 5, precision: .fp16, blockSize: 150).evaluate(reference: real, samples: fake)
        XCTAssertEqual(r.precision, goldenValue("pr_k3_fp16.precision"))
        XCTAssertEqual(r.recall, goldenValue("pr_k3_fp16.recall"))
        // density/coverage stay float32 (prdc) in fp16 mode
        XCTAssertEqual(r.density!, goldenValue("prdc_k5.density"), accuracy: 1e-12)
        XCTAssertEqual(r.coverage!, goldenValue("prdc_k5.coverage"), accuracy: 1e-12)
    }

    func testRoundingToHalfMatchesFloat16() {
        for x: Float in [0, 1, -1, 0.1, 1e-5, 6e-8, 3e-8, 65504, 65519, 65520, 1e6, 2049, 2051, 1.0009765625, 1.00048828125] {
            XCTAssertEqual(roundedToHalf(x), Float(Float16(x)), "roundedToHalf(\(x))")
        }
    }

    func testRefusesTooFewImagesAndMismatchedLayers() {
        // k = 5 for density needs 6 images; 5 are refused with the numbers in the message.
        let five = Tensor(shape: [5, 2048], repeating: 0.5)
        assertThrows(try ManifoldEstimator(k: 3, densityK: 5).evaluate(reference: five, samples: fake), ["5 images", "at least 6"])
        XCTAssertNoThrow(try ManifoldEstimator(k: 3, densityK: nil).evaluate(reference: five, samples: fake))
        XCTAssertThrowsError(try ManifoldEstimator().evaluate(reference: real, samples: FixtureFeatures.samples.spatial)) { e in
            XCTAssert("\(e)".contains("2048") && "\(e)".contains("2023"), "\(e)")
        }
    }
}
