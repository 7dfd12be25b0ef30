import Foundation
import TestSupport
import XCTest

/// Issue 16 through the built binary: each case it lists exits with a clear error (never a
/// signal), or gives the right answer.
final class ReliabilityTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    func fixture(_ path: String) -> String { Self.root.appendingPathComponent("fixtures/" + path).path }

    /// Fails unless the command exited with status 1 or 64 (an error, not a trap) and its stderr
    /// mentions every fragment.
    func assertRefused(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(arguments)
        XCTAssertTrue([1, 64].contains(result.status), "dimr-eval \(arguments.joined(separator: " ")): status \(result.status)\n\(result.stderr)",
                      file: file, line: line)
        for fragment in fragments where !result.stderr.contains(fragment) {
            XCTFail("stderr of dimr-eval \(arguments.joined(separator: " ")) does not mention «\(fragment)»:\n\(result.stderr)", file: file, line: line)
        }
    }

    func testCrashesOfTheIssueAreClearErrors() throws {
        let dir = try temporaryDirectory(self)
        let images = fixture("inception/images_32.npz")
        try assertRefused(["fid", images, images, "--weights", dir.path], [dir.path, "weights", "a folder"])
        try assertRefused(["train", "--arch", "dit", "--batch-size", "0", "--out", dir.appendingPathComponent("r").path],
                          ["--batch-size must be at least 1, got 0"])
    }

    func testNumericOptionsAreValidatedUpFront() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("r").path
        for (option, value, message) in [("--batch-size", "-1", "--batch-size must be at least 1, got -1"),
                                         ("--lr", "nan", "--lr must be a finite number above 0, got nan"),
                                         ("--lr", "-0.1", "--lr must be a finite number above 0, got -0.1"),
                                         ("--eval-every", "-5", "--eval-every must be 0 or more, got -5"),
                                         ("--ema-rate", "1.5", "--ema-rate must be between 0 and 1, got 1.5"),
                                         ("--steps", "0", "--steps must be at least 1, got 0"),
                                         ("--log-every", "0", "--log-every must be at least 1, got 0"),
                                         ("--time-std", "0", "--time-std must be a finite number above 0, got 0.0"),
                                         ("--time-mean", "inf", "--time-mean must be a finite number, got inf"),
                                         ("--min-snr", "-1", "--min-snr must be a finite number, 0 or more, got -1.0"),
                                         ("--lr-floor", "2", "--lr-floor must be between 0 and 1, got 2.0")] {
            try assertRefused(["train", "--arch", "dit", option, value, "--out", out], [message])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing was created")
        let images = fixture("inception/images_32.npz")
        try assertRefused(["features", images, "-o", dir.appendingPathComponent("f.npz").path, "--batch-size", "-2"], ["--batch-size must be at least 1, got -2"])
        try assertRefused(["eval", images, images, "--k", "-1"], ["--k must be at least 1, got -1"])
        try assertRefused(["eval", images, images, "--fid-bootstrap", "1"], ["--fid-bootstrap must be at least 2, got 1"])
        try assertRefused(["eval", images, images, "--fid-infinity-min", "-3"], ["--fid-infinity-min must be at least 2, got -3"])
        try assertRefused(["sample", dir.path, "-o", dir.appendingPathComponent("s.npz").path, "--count", "-4"], ["--count must be at least 1, got -4"])
        try assertRefused(["sample", dir.path, "-o", dir.appendingPathComponent("s.npz").path, "--cfg", "nan"], ["--cfg must be a finite number, got nan"])
    }

    func testOutputsAreCheckedBeforeTheWork() throws {
        let dir = try temporaryDirectory(self)
        let copy = dir.appendingPathComponent("x.npz")
        try FileManager.default.copyItem(atPath: fixture("inception/images_32.npz"), toPath: copy.path)
        let before = try Data(contentsOf: copy)
        try assertRefused(["features", copy.path, "-o", copy.path], ["x.npz", "output (-o)", "the input itself"])
        XCTAssertEqual(try Data(contentsOf: copy), before, "the user's images are untouched")
        // A missing output folder is refused at once (before: after every feature was computed),
        // and so is --save-json's; no weights are loaded to find that out.
        let missing = dir.appendingPathComponent("no/such/folder/s.npz").path
        let start = Date()
        try assertRefused(["stats", copy.path, "-o", missing, "--weights", "/nonexistent.pt"], ["s.npz", "an existing folder"])
        try assertRefused(["eval", copy.path, copy.path, "--save-json", missing, "--weights", "/nonexistent.pt"],
                          ["output (--save-json)", "an existing folder"])
        try assertRefused(["merge", fixture("metrics/stats_full_a.npz"), "-o", fixture("metrics/stats_full_a.npz")], ["the input itself"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    /// A second input that cannot give statistics is refused before the first one's features.
    func testOneImageSecondInputIsRefusedFirst() throws {
        let dir = try temporaryDirectory(self)
        let one = dir.appendingPathComponent("one")
        try FileManager.default.createDirectory(at: one, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("io/images/rgb.png"), toPath: one.appendingPathComponent("a.png").path)
        try assertRefused(["fid", fixture("inception/images_32.npz"), one.path, "--weights", "/nonexistent.pt"],
                          [one.path, "images", "at least 2 images", "1 image"])
    }

    func testTruncatedWeightsAreRefusedFast() throws {
        let dir = try temporaryDirectory(self)
        var head = [UInt8](repeating: 0x20, count: 4 << 20)
        head.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04])
        let cut = dir.appendingPathComponent("cut.pt")
        try Data(head).write(to: cut)
        let start = Date()
        let images = fixture("inception/images_32.npz")
        try assertRefused(["fid", images, images, "--weights", cut.path], ["cut.pt", "zip container", "truncated"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testReportRefusesEmptyFoldersAndNonRuns() throws {
        let dir = try temporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty"), other = dir.appendingPathComponent("other")
        for folder in [empty, other] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try Data("hello".utf8).write(to: other.appendingPathComponent("notes.txt"))
        let html = dir.appendingPathComponent("r.html").path
        try assertRefused(["report", empty.path, "-o", html], [empty.path, "run folder", "an empty folder"])
        try assertRefused(["report", other.path, "-o", html], [other.path, "run folder", "none of them"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: html))
    }

    /// `--resume` with options that contradict the saved run is refused, naming what differs;
    /// the step log continues exactly: steps a killed run logged after its last checkpoint are
    /// dropped, not repeated.
    func testResumeRefusesContradictionsAndContinuesTheStepLog() throws {
        let dir = try temporaryDirectory(self)
        let run = dir.appendingPathComponent("run")
        // The recipe options are saved with the run too (ModelConfig.prediction, TrainConfig).
        let recipe = ["--prediction", "velocity", "--time-sampling", "logit-normal", "--time-mean", "-0.5", "--min-snr", "5",
                      "--lr-decay", "cosine", "--lr-floor", "0.2", "--eval-sampler", "ddim", "--position-init", "sincos"]
        let base = ["train", "--arch", "dit", "--batch-size", "4", "--eval-every", "0", "--no-score", "--out", run.path, "--log-every", "1"]
        let first = try CLI.run(base + recipe + ["--steps", "3"])
        XCTAssertEqual(first.status, 0, first.stderr)

        try assertRefused(["train", "--arch", "uvit", "--steps", "5", "--no-score", "--out", run.path, "--resume", "--batch-size", "8"],
                          ["--resume", "--arch: given uvit, the run has dit", "--batch-size: given 8, the run has 4"])
        try assertRefused(["train", "--arch", "dit", "--steps", "5", "--no-score", "--out", run.path, "--resume",
                           "--prediction", "epsilon", "--time-sampling", "uniform", "--time-std", "2", "--min-snr", "0",
                           "--lr-decay", "constant", "--lr-floor", "0.3", "--eval-sampler", "ddpm", "--position-init", "normal"],
                          ["--prediction: given epsilon, the run has velocity", "--time-sampling: given uniform, the run has logit-normal",
                           "--time-std: given 2.0, the run has 1.0", "--min-snr: given 0.0, the run has 5.0",
                           "--lr-decay: given constant, the run has cosine", "--lr-floor: given 0.3, the run has 0.2",
                           "--eval-sampler: given ddpm, the run has ddim", "--position-init: given normal, the run has sincos"])
        // The same values again agree with the run (checked below by the resume that follows).
        let agreeing = try CLI.run(["train", "--arch", "dit", "--steps", "3", "--no-score", "--out", run.path, "--resume"] + recipe)
        XCTAssertEqual(agreeing.status, 0, agreeing.stderr)
        XCTAssertTrue(agreeing.stderr.contains("already at step 3"), agreeing.stderr)

        // A killed run had logged steps 4 and 5 (and half a line) after its checkpoint at step 3.
        let log = run.appendingPathComponent("train_log.jsonl")
        var text = try String(contentsOf: log, encoding: .utf8)
        text += "{\"event\":\"step\",\"loss\":0.5,\"step\":4}\n{\"event\":\"step\",\"loss\":0.5,\"step\":5}\n{\"event\":\"st"
        try text.write(to: log, atomically: true, encoding: .utf8)
        // A stale temporary of that killed run's checkpoint write.
        let stale = run.appendingPathComponent("checkpoints/.step-00000004.safetensors.tmp-\(try deadProcessID())-42")
        try Data(repeating: 0, count: 1000).write(to: stale)

        let resumed = try CLI.run(["train", "--arch", "dit", "--steps", "5", "--no-score", "--out", run.path, "--resume", "--log-every", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("dit tiny"), "the header names the model trained: \(resumed.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "stale temporary removed")
        XCTAssertTrue(resumed.stderr.contains("removed a stale temporary"), resumed.stderr)
        let steps = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line -> Int in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["step"] as? Int ?? -1
        }
        XCTAssertEqual(steps, [1, 2, 3, 4, 5], "each step once, in order")
        // Left out, the recipe options kept the saved values.
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("latest.json"))) as? [String: Any])
        let model = try XCTUnwrap(state["model"] as? [String: Any]), training = try XCTUnwrap(state["training"] as? [String: Any])
        XCTAssertEqual(model["prediction"] as? String, "velocity")
        XCTAssertEqual((training["evalSampling"] as? [String: Any])?["sampler"] as? String, "ddim")
        XCTAssertNotNil(training["lossWeighting"] as? [String: Any], "min-SNR weighting kept: \(training)")
        XCTAssertNotNil((training["optimizer"] as? [String: Any])?["decay"] as? [String: Any], "cosine decay kept: \(training)")

        // A new run in a folder with a leftover log (but no checkpoint) starts a fresh log.
        let fresh = dir.appendingPathComponent("fresh")
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        try Data("{\"step\":99}\n".utf8).write(to: fresh.appendingPathComponent("train_log.jsonl"))
        let again = try CLI.run(["train", "--arch", "dit", "--batch-size", "4", "--steps", "1", "--eval-every", "0", "--no-score",
                                 "--out", fresh.path, "--log-every", "1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let freshSteps = try String(contentsOf: fresh.appendingPathComponent("train_log.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(freshSteps.count, 1)
    }

    /// A killed `features` run leaves its spool and atomic-write temporaries beside the output;
    /// the next command writing into that folder removes them (before its work, so even one that
    /// then fails on its weights), and keeps a live process's temporaries and unrelated files.
    func testLeftoversOfAKilledFeaturesRunAreRemovedByTheNextRun() throws {
        let dir = try temporaryDirectory(self)
        let dead = try deadProcessID()
        let oldSpool = dir.appendingPathComponent(".out.npz.spatial.0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0.part")   // before this issue
        let stale = [oldSpool.lastPathComponent, ".out.npz.tmp-\(dead)-1234",
                     ".out.npz.spatial.tmp-\(dead)-99", ".out.npz.tmp-\(dead)-7"]
        let kept = [".out.npz.tmp-\(getpid())-5", ".notes.part", "out.npz.tmp-\(dead)-3"]
        for name in stale + kept { try Data(repeating: 1, count: 100).write(to: dir.appendingPathComponent(name)) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: oldSpool.path)

        let result = try CLI.run(["features", fixture("inception/images_32.npz"), "-o", dir.appendingPathComponent("out.npz").path,
                                  "--weights", dir.appendingPathComponent("missing.pt").path])
        XCTAssertEqual(result.status, 1, result.stderr)
        for name in stale {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name) removed")
            XCTAssertTrue(result.stderr.contains("removed a stale temporary file of a stopped run: \(dir.appendingPathComponent(name).path)"),
                          result.stderr)
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), Set(kept))
    }

    /// The inputs that once crashed a fuzz target (fixtures/fuzz/regressions/TARGET/) replay
    /// without a trap through the same target code, built normally.
    func testFuzzRegressionInputsReplay() throws {
        let replayer = CLI.binary.deletingLastPathComponent().appendingPathComponent("dimr-eval-fuzz")
        let regressions = Self.root.appendingPathComponent("fixtures/fuzz/regressions")
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: regressions.path)) ?? []
        for target in targets.sorted() {
            let folder = regressions.appendingPathComponent(target)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { folder.appendingPathComponent($0).path }
            guard !files.isEmpty else { continue }
            let process = Process()
            process.executableURL = replayer
            process.arguments = [target] + files
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit, "\(target): a trap replaying \(files.count) regression inputs")
            XCTAssertEqual(process.terminationStatus, 0, "\(target)")
        }
    }

    /// A process id no process can have (above the kernel's pid_max).
    func deadProcessID() throws -> Int32 {
        let text = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
        return (Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 4_194_304) + 1
    }
}
