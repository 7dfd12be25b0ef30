import DiMRTrainer
import Distortion
import Eval
import Foundation
import InceptionNet
import Pipeline
import TestSupport
import XCTest

/// The demo's pipeline without the binary (`DemoContractTests` runs it through the CLI): two tiny
/// models, 2 training steps, a few dozen images on each side, the caches in the test's folder.
/// What it returns must be what it wrote: every model's run folder with its final samples,
/// final-metrics.json, worst grid and heatmaps; the comparison in the models' order; the report;
/// and a summary JSON with the README's fields. Needs the Inception weights (scripts/setup.sh).
final class DemoPipelineTests: XCTestCase {
    func testTwoTinyModelsEndToEnd() throws {
        guard (try? WeightsLocator.locate()) != nil else {
            throw XCTSkip("no Inception weights (run scripts/setup.sh; searched \(WeightsLocator.candidates().map(\.path)))")
        }
        let dir = try temporaryDirectory(self)
        var settings = DemoPipeline.Settings()
        settings.output = dir.appendingPathComponent("demo")
        settings.steps = 2; settings.evalEvery = 2
        settings.referenceCount = 24; settings.sampleCount = 24
        settings.evalSamples = 12; settings.evalReferenceCount = 12
        settings.distortionReferenceCount = 48
        settings.architectures = [.dit, .uvit]
        let pipeline = DemoPipeline(settings, featureCache: try FeatureCache(root: dir.appendingPathComponent("features")),
                                    classifierCache: DistortionClassifierCache(root: dir.appendingPathComponent("classifiers")))
        var trained: [String] = [], sampled = 0, checkpoints = 0, scored: [String] = []
        let result = try pipeline.run { event in
            switch event {
            case .trainingStarted(let run): trained.append(run.request.architecture.rawValue)
            case .checkpointScored: checkpoints += 1
            case .sampled: sampled += 1
            case .scored(let label, _): scored.append(label)
            default: break
            }
        }
        XCTAssertEqual(trained, ["dit", "uvit"])
        XCTAssertEqual(checkpoints, 2, "one scored checkpoint per model (step 2)")
        XCTAssertEqual(sampled, 2)
        XCTAssertEqual(scored, ["DiT", "U-ViT"])

        XCTAssertEqual(result.models.map(\.label), ["DiT", "U-ViT"])
        XCTAssertEqual(result.models.map(\.architecture), [.dit, .uvit])
        XCTAssertEqual(result.comparison.labels, ["DiT", "U-ViT"])
        XCTAssertEqual(result.comparison.scores.map(\.count), [24, 24])
        let files = FileManager.default
        for model in result.models {
            XCTAssertEqual(model.runFolder.path, settings.output.appendingPathComponent(model.architecture.rawValue).path)
            XCTAssertEqual(model.finalScores.sampleCount, 24)
            XCTAssertEqual(model.finalScores.referenceCount, 24)
            for value in [model.finalScores.fid, model.finalScores.precision, model.finalScores.recall, model.finalScores.kid] {
                XCTAssertTrue(value?.isFinite ?? false, "\(model.label): \(String(describing: value))")
            }
            for name in ["latest.json", "samples.npz", "samples.png", "final-metrics.json", "metrics.jsonl", "train_log.jsonl", "worst.png"] {
                XCTAssertTrue(files.fileExists(atPath: model.runFolder.appendingPathComponent(name).path), "\(model.label): no \(name)")
            }
            let heatmaps = try files.contentsOfDirectory(atPath: model.runFolder.appendingPathComponent("heatmaps").path)
            XCTAssertEqual(heatmaps.filter { $0.hasSuffix(".png") }.count, 16, "\(heatmaps)")
            // The final scores are the last line of metrics.jsonl, for the report's table.
            let lines = try String(contentsOf: model.runFolder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            let last = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.last).utf8)) as? [String: Any])
            XCTAssertEqual(last["final"] as? String, "24 samples")
            XCTAssertEqual(try XCTUnwrap(last["fid"] as? Double), model.finalScores.fid, accuracy: 1e-12 * model.finalScores.fid)
        }
        XCTAssertEqual(result.report.path, settings.output.appendingPathComponent("report.html").path)
        for name in ["report.html", "distortion.json", "distortion.svg", "distortion.png", "reference.npz", "reference-features.npz",
                     "distortion-reference.npz"] {
            XCTAssertTrue(files.fileExists(atPath: settings.output.appendingPathComponent(name).path), "no \(name)")
        }

        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.summaryJSON().utf8)) as? [String: Any])
        XCTAssertEqual(summary["seconds"] as? Int, result.seconds)
        XCTAssertEqual(summary["report"] as? String, result.report.path)
        XCTAssertEqual((summary["comparison"] as? [String: Any])?["labels"] as? [String], ["DiT", "U-ViT"])
        let models = try XCTUnwrap(summary["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["arch"] as? String }, ["dit", "uvit"])
        for (entry, model) in zip(models, result.models) {
            XCTAssertEqual(entry["run_dir"] as? String, model.runFolder.path)
            XCTAssertEqual(entry["samples"] as? String, model.samples.path)
            // JSON read back by JSONSerialization (as the demo always read its files): within a few ulps.
            XCTAssertEqual(try XCTUnwrap(entry["fid"] as? Double), model.finalScores.fid, accuracy: 1e-12 * model.finalScores.fid)
            for key in ["precision", "recall", "kid", "distortion_rate", "label_accuracy", "label_accuracy_reference"] {
                XCTAssertNotNil(entry[key] as? Double, "\(key) missing in \(entry)")
            }
        }
        for (entry, score) in zip(models, result.comparison.scores) {
            XCTAssertEqual(try XCTUnwrap(entry["distortion_rate"] as? Double), score.distortionRate, accuracy: 1e-12)
        }
    }
}
