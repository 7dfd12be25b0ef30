import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// `distortion score` end to end (issue #15): the weak-classifier refusal, the calibration and
/// realism blocks added to the JSON (the old keys unchanged), and the heatmaps.
final class DistortionCommandTests: XCTestCase {
    let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/distortion")

    func writeBatch(_ pixels: [UInt8], count: Int, to url: URL) throws {
        try writeNpz([("arr_0", NpyArray(uint8: pixels, shape: [count, 32, 32, 3]))], to: url)
    }

    /// A 40-image flat-colour reference trains a weak classifier (held-out AUC 0.625: only the
    /// patch-grid and mosaic kinds change a flat image), whose score carries the warning note. The
    /// same classifier with the AUC of 0.47 written into its card is refused, with an error
    /// naming the card, the field and the bound; with --force it is scored with a note.
    func testWeakClassifierWarnsAndUselessOneIsRefusedUnlessForced() throws {
        let dir = try temporaryDirectory(self)
        var rng = SplitMix64(seed: 5, stream: "cli-flat", index: 0)
        let ref = dir.appendingPathComponent("flat.npz"), samples = dir.appendingPathComponent("samples.npz")
        let flat = (0..<40).flatMap { _ -> [UInt8] in
            let colour = (0..<3).map { _ in UInt8(rng.below(256)) }
            return (0..<3072).map { colour[$0 % 3] }
        }
        try writeBatch(flat, count: 40, to: ref)
        try writeBatch((0..<(20 * 3072)).map { _ in UInt8(rng.below(256)) }, count: 20, to: samples)
        let model = dir.appendingPathComponent("model")
        XCTAssertEqual(try CLI.run(["distortion", "train", "--ref", ref.path, "--features", "handcrafted", "-o", model.path]).status, 0)
        let base = ["distortion", "score", samples.path, "--model", model.path, "--realism", "off", "--json"]
        let weak = try CLI.json(base)
        let auc = try XCTUnwrap(weak["held_out_auc"] as? Double)
        XCTAssertTrue((0.6..<0.7).contains(auc), "measured 0.625, got \(auc)")
        XCTAssertTrue((weak["notes"] as? [String] ?? []).contains { $0.contains("the classifier is weak") }, "\(weak)")

        let cardURL = model.appendingPathComponent("card.json")
        var card = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: cardURL)) as? [String: Any])
        var summary = try XCTUnwrap(card["heldOutSummary"] as? [String: Any])
        summary["auc"] = 0.47
        card["heldOutSummary"] = summary
        try encodeJSONObject(card).write(to: cardURL)
        let refused = try CLI.run(base)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("held-out AUC") && refused.stderr.contains("0.470") && refused.stderr.contains("card.json")
                      && refused.stderr.contains("--force"), refused.stderr)
        let forced = try CLI.json(base + ["--force"])
        XCTAssertTrue((forced["notes"] as? [String] ?? []).contains { $0.contains("cannot tell distorted from clean") }, "\(forced)")
    }

    /// Photos: every JSON key of before is still there, calibration says cross-fitted over all
    /// reference images with a Clopper–Pearson interval, realism (Inception, when its weights are
    /// found) gives precision and density, and --heatmap writes one decodable PNG per worst sample.
    func testScoreJSONCalibrationRealismAndHeatmaps() throws {
        let dir = try temporaryDirectory(self)
        let a = try NpzFile(contentsOf: photos.appendingPathComponent("photos32_a.npz")).array("arr_0").asUInt8()
        let b = try NpzFile(contentsOf: photos.appendingPathComponent("photos32_b.npz")).array("arr_0").asUInt8()
        let ref = dir.appendingPathComponent("ref.npz"), samples = dir.appendingPathComponent("samples.npz")
        try writeBatch(Array(a.prefix(96 * 3072)), count: 96, to: ref)
        try writeBatch(Array(b.prefix(24 * 3072)), count: 24, to: samples)
        let heatmaps = dir.appendingPathComponent("heatmaps")
        let weightsFound = try CLI.run(["doctor"]).stdout.contains("found")
        let json = try CLI.json(["distortion", "score", samples.path, "--ref", ref.path, "--features", "handcrafted", "--force",
                                 "--worst", "4", "--worst-grid", dir.appendingPathComponent("worst.png").path,
                                 "--heatmap", heatmaps.path, "--json"])
        for key in ["source", "distortion_rate", "ci_low", "ci_high", "confidence", "bootstrap_resamples", "threshold",
                    "false_positive_rate", "count", "flagged", "mean_probability", "median_probability", "feature_provider",
                    "resized_from", "image_size", "notes", "worst"] {
            XCTAssertNotNil(json[key], "key \(key) of the JSON before issue #15")
        }
        let calibration = try XCTUnwrap(json["calibration"] as? [String: Any])
        XCTAssertEqual(calibration["method"] as? String, "cross-fitted split-conformal")
        XCTAssertEqual(calibration["count"] as? Int, 96)
        XCTAssertEqual(calibration["folds"] as? Int, 5)
        let achieved = try XCTUnwrap(calibration["achieved_fpr"] as? Double)
        XCTAssertLessThanOrEqual(achieved, 0.05)
        XCTAssertLessThanOrEqual(calibration["ci_low"] as? Double ?? 1, achieved)
        XCTAssertGreaterThan(calibration["ci_high"] as? Double ?? 0, achieved)
        if weightsFound {
            let realism = try XCTUnwrap(json["realism"] as? [String: Any], "Inception weights are found, so --realism auto measures it")
            XCTAssertEqual(realism["reference_count"] as? Int, 96)
            XCTAssertEqual(realism["sample_count"] as? Int, 24)
            for key in ["precision", "density", "recall", "coverage"] { XCTAssertNotNil(realism[key] as? Double, key) }
            XCTAssertNotNil(realism["off_manifold"] as? Bool)
        }
        let files = try XCTUnwrap(json["heatmaps"] as? [String])
        XCTAssertEqual(files.count, 4)
        for (rank, file) in files.enumerated() {
            XCTAssertTrue(URL(fileURLWithPath: file).lastPathComponent.hasPrefix(String(format: "worst-%02d-sample-", rank + 1)), file)
            let image = try decodePNG([UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
            XCTAssertEqual(image.width, 2 * 256 + 4); XCTAssertEqual(image.height, 256)
        }
        let worstIndex = (json["worst"] as? [[String: Any]])?.first?["index"] as? Int
        XCTAssertTrue(files[0].hasSuffix(String(format: "sample-%06d.png", worstIndex ?? -1)), "the first heatmap is the worst sample")
    }
}
