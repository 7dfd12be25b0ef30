import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import XCTest

/// KID (clean-fid / StyleGAN3 formula, numpy RandomState subsets) and IS (ADM formula) against
/// fixtures/metrics/golden.json; tolerance 1e-6 relative (float64 on both sides).
final class KernelAndInceptionScoreTests: XCTestCase {
    func testNumpyRandomStateStream() {
        var rng = NumpyRandomState(seed: 0)
        let g = golden["numpy_randomstate0"] as! [String: [Int]]
        XCTAssertEqual(Array(rng.choiceWithoutReplacement(1000, 1000).prefix(20)), g["choice_1000_of_1000_first20"]!)
        XCTAssertEqual(Array(rng.choiceWithoutReplacement(320, 320).prefix(20)), g["then_choice_320_of_320_first20"]!)
        var big = NumpyRandomState(seed: 123_456_789)
        let g2 = golden["numpy_randomstate123456789"] as! [String: [Int]]
        XCTAssertEqual(Array(big.choiceWithoutReplacement(70000, 70000).prefix(10)), g2["choice_70000_of_70000_first10"]!)
    }

    func testKIDMatchesCleanFID() throws {
        let real = FixtureFeatures.reference.pool, fake = FixtureFeatures.samples.pool
        let kid = try KernelInceptionDistance.compute(reference: real, samples: fake)
        XCTAssertEqual(kid.subsetSize, 320)
        assertRelative(kid.mean, goldenValue("kid_seed0"), 1e-6, "KID, 100 subsets of 320, seed 0")
        assertRelative(kid.std, goldenValue("kid_seed0_std"), 1e-6, "KID std")
        let small = try KernelInceptionDistance.compute(reference: real, samples: fake, subsets: 10, subsetSize: 50, seed: 7)
        assertRelative(small.mean, goldenValue("kid_10x50_seed7"), 1e-6, "KID, 10 subsets of 50, seed 7")
        assertRelative(small.std, goldenValue("kid_10x50_seed7_std"), 1e-6, "KID std, 10 subsets of 50")
    }

    /// A seeded 100-class head (fixtures/metrics/fc_small.npz, weight = code / 64).
    func testInceptionScoreMatchesADMFormula() throws {
        let npz = try NpzFile(contentsOf: metricsFixture("fc_small.npz"))
        let codes = try npz.array("fc_codes")
        let fc = Tensor(shape: codes.shape, values: try codes.asFloats().map { $0 / 64 })
        let s = try InceptionScore.compute(pool: FixtureFeatures.samples.pool, classifier: fc)
        XCTAssertEqual(s.splits, 10)
        assertRelative(s.mean, goldenValue("is_small"), 1e-6, "IS of samples")
        let r = try InceptionScore.compute(pool: FixtureFeatures.reference.pool, classifier: fc)
        assertRelative(r.mean, goldenValue("is_small_ref"), 1e-6, "IS of reference")
    }

    /// The 1008-class head of `reference.py make-pth` (real convs, torch-seeded fc), read through
    /// InceptionNet's .pth loader. The file is ~95 MB and not committed: skipped when absent.
    func testInceptionScoreWithMakePthHead() throws {
        guard golden["is_make_pth_seed0"] != nil else { throw XCTSkip("golden.json was made without --pth") }
        let path = ProcessInfo.processInfo.environment["DIMR_TEST_PTH"]
            ?? NSString(string: "~/.cache/dimr-anchors/pt_inception_seeded.pth").expandingTildeInPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("no make-pth file at \(path) (make one: reference.py make-pth \(path))")
        }
        let extractor = try FeatureExtractor(weights: URL(fileURLWithPath: path))
        let fc = try XCTUnwrap(extractor.fcWeight, "the .pth has fc.weight")
        XCTAssertEqual(fc.shape, [1008, 2048])
        let s = try InceptionScore.compute(pool: FixtureFeatures.samples.pool, classifier: fc)
        assertRelative(s.mean, goldenValue("is_make_pth_seed0"), 1e-6, "IS with the make-pth head")
    }
}
