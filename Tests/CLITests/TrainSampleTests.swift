import Foundation
import TestSupport
import XCTest

/// `train` → `train --resume` → `sample`, end to end through the built binary (tiny DiT, a few steps).
final class TrainSampleTests: XCTestCase {
    func testTrainResumeSample() throws {
        let dir = try temporaryDirectory(self)
        let run = dir.appendingPathComponent("run")

        let first = try CLI.run(["train", "--arch", "dit", "--preset", "tiny", "--steps", "4", "--batch-size", "8",
                                 "--eval-every", "0", "--no-score", "--out", run.path, "--seed", "3"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("parameters"), "the parameter count is printed: \(first.stderr)")
        let state1 = try latestState(run)
        XCTAssertEqual(state1["step"] as? Int, 4)

        // Without --resume an existing run is not overwritten.
        let clash = try CLI.run(["train", "--arch", "dit", "--preset", "tiny", "--steps", "6", "--eval-every", "0", "--no-score", "--out", run.path])
        XCTAssertNotEqual(clash.status, 0)
        XCTAssertTrue(clash.stderr.contains("--resume"), clash.stderr)

        let second = try CLI.run(["train", "--arch", "dit", "--preset", "tiny", "--steps", "6", "--eval-every", "0", "--no-score",
                                  "--out", run.path, "--seed", "3", "--resume", "--json", "--log-every", "1"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let lines = second.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let steps = lines.filter { $0["event"] as? String == "step" }.compactMap { $0["step"] as? Int }
        XCTAssertEqual(steps, [5, 6], "resumed at step 5: \(second.stdout)")
        for line in lines where line["event"] as? String == "step" {
            let loss = try XCTUnwrap(line["loss"] as? Double)
            XCTAssertTrue(loss.isFinite && loss > 0 && loss < 10, "loss \(loss)")
        }
        XCTAssertEqual(try latestState(run)["step"] as? Int, 6)

        // Already at --steps: says so, exits 0.
        let again = try CLI.run(["train", "--arch", "dit", "--preset", "tiny", "--steps", "6", "--eval-every", "0", "--no-score",
                                 "--out", run.path, "--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already at step 6"), again.stderr)

        let npz = dir.appendingPathComponent("samples.npz"), grid = dir.appendingPathComponent("grid.png")
        let summary = try CLI.json(["sample", run.path, "--count", "8", "--seed", "1", "--steps", "5",
                                    "-o", npz.path, "--grid", grid.path, "--json"])
        XCTAssertEqual(summary["count"] as? Int, 8)
        XCTAssertEqual(summary["step"] as? Int, 6)

        // arr_0 header: uint8 (8, 32, 32, 3); arr_1: int64 (8,) — read through the CLI's own npz reader
        // would hide a writer bug, so look at the raw npy headers in the (stored, uncompressed) zip.
        let bytes = try Data(contentsOf: npz)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("arr_0.npy") && text.contains("arr_1.npy"), "members arr_0 and arr_1")
        XCTAssertTrue(text.contains("'descr': '|u1'"), "arr_0 is uint8")
        XCTAssertTrue(text.contains("'shape': (8, 32, 32, 3)"), "arr_0 is (8,32,32,3)")
        XCTAssertTrue(text.contains("'descr': '<i8'") && text.contains("'shape': (8,)"), "arr_1 is int64 (8,)")
        XCTAssertGreaterThan(bytes.count, 8 * 32 * 32 * 3)

        let png = try Data(contentsOf: grid)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG file")
    }

    func testBadArchitectureIsAClearError() throws {
        let dir = try temporaryDirectory(self)
        let result = try CLI.run(["train", "--arch", "resnet", "--out", dir.appendingPathComponent("r").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--arch") && result.stderr.contains("dimr, dit, uvit") && result.stderr.contains("resnet"),
                      result.stderr)
    }

    func testBadPresetAndMissingCheckpointAreClearErrors() throws {
        let dir = try temporaryDirectory(self)
        let preset = try CLI.run(["train", "--arch", "dit", "--preset", "gigantic", "--eval-every", "0", "--no-score", "--out", dir.appendingPathComponent("r").path])
        XCTAssertNotEqual(preset.status, 0)
        XCTAssertTrue(preset.stderr.contains("gigantic"), preset.stderr)
        let sample = try CLI.run(["sample", dir.appendingPathComponent("nothing").path, "-o", dir.appendingPathComponent("s.npz").path])
        XCTAssertNotEqual(sample.status, 0)
        XCTAssertTrue(sample.stderr.contains("nothing"), sample.stderr)
    }

    private func latestState(_ run: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: run.appendingPathComponent("latest.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

final class DemoContractTests: XCTestCase {
    /// `demo --json` ends with one object scripts rely on: seconds, models[{label, arch, precision,
    /// recall, fid, kid, distortion_rate, samples, run_dir, label_accuracy, label_accuracy_reference}],
    /// comparison (distortion compare's JSON).
    func testDemoJSONContract() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("demo")
        let result = try CLI.run(["demo", "--out", out.path, "--steps", "2", "--eval-every", "2", "--arch", "dit", "--arch", "uvit",
                                  "--reference-count", "24", "--sample-count", "24", "--eval-samples", "12",
                                  "--eval-reference-count", "12", "--distortion-reference-count", "96", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let last = try XCTUnwrap(result.stdout.split(separator: "\n").last, "no output: \(result.stderr)")
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], String(last))
        XCTAssertNotNil(summary["seconds"] as? Int, String(last))
        let comparison = try XCTUnwrap(summary["comparison"] as? [String: Any], String(last))
        XCTAssertEqual(comparison["labels"] as? [String], ["DiT", "U-ViT"])
        let models = try XCTUnwrap(summary["models"] as? [[String: Any]], String(last))
        XCTAssertEqual(models.map { $0["arch"] as? String }, ["dit", "uvit"])
        XCTAssertEqual(models.map { $0["label"] as? String }, ["DiT", "U-ViT"])
        let scores = try XCTUnwrap(comparison["scores"] as? [[String: Any]])
        for (model, score) in zip(models, scores) {
            for key in ["precision", "recall", "fid", "kid", "distortion_rate", "label_accuracy", "label_accuracy_reference"] {
                let value = try XCTUnwrap(model[key] as? Double, "\(key) missing in \(model)")
                XCTAssertTrue(value.isFinite, "\(key) = \(value)")
            }
            XCTAssertEqual(model["distortion_rate"] as? Double, score["distortion_rate"] as? Double)
            for key in ["samples", "run_dir"] {
                let path = try XCTUnwrap(model[key] as? String)
                XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(key) \(path) does not exist")
            }
            // what the classifier flags, for a person to check: the worst grid and 16 heatmaps per model
            let run = URL(fileURLWithPath: try XCTUnwrap(model["run_dir"] as? String))
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("worst.png").path), "no worst grid in \(run.path)")
            let heatmaps = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("heatmaps").path)
            XCTAssertEqual(heatmaps.filter { $0.hasSuffix(".png") }.count, 16, "\(heatmaps)")
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for label in ["dit", "uvit"] {  // the run folders' names
            XCTAssertTrue(report.contains("\(label): most distorted samples"), "the report shows no worst grid of \(label)")
        }
        XCTAssertTrue(report.contains("Label accuracy vs step") && report.contains("<th>Label accuracy ↑</th>"), "the report shows no label accuracy")
    }
}
