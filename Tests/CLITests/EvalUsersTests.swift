import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// What evaluation users reach for (issue 18), through the built binary: the feature cache
/// (`eval`/`fid`/`stats`/`features`, `cache list|clear`, `--no-cache`), statistics in pytorch-fid's
/// layout, refusing mixed preprocessing, and the Slurm job-array script run as n parallel shard
/// processes whose merge equals one pass exactly.
final class EvalUsersTests: XCTestCase {
    /// The weights the tests' own cache folder would not hold: the one the set-up cached.
    static var weights: String {
        let env = ProcessInfo.processInfo.environment
        if let w = env["DIMR_EVAL_WEIGHTS"], !w.isEmpty { return w }
        let cache = env["DIMR_EVAL_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? (env["HOME"] ?? "/root") + "/.cache/dimr-eval"
        return cache + "/default_1.pt"
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// An ADM batch of random 16×16 images; `labelled` adds `arr_1` (image i has label i mod 3).
    func batch(_ url: URL, count: Int, seed: UInt64, labelled: Bool = false) throws {
        var rng = SplitMix64(seed: seed)
        let pixels = (0..<(count * 16 * 16 * 3)).map { _ in UInt8(rng.below(256)) }
        var arrays = [("arr_0", NpyArray(uint8: pixels, shape: [count, 16, 16, 3]))]
        if labelled { arrays.append(("arr_1", NpyArray(int64: (0..<count).map { Int64($0 % 3) }, shape: [count]))) }
        try writeNpz(arrays, to: url)
    }

    func testFeatureCacheThroughTheCommands() throws {
        let dir = try temporaryDirectory(self)
        let env = ["DIMR_EVAL_CACHE": dir.appendingPathComponent("cache").path, "DIMR_EVAL_WEIGHTS": Self.weights]
        let a = dir.appendingPathComponent("a.npz"), b = dir.appendingPathComponent("b.npz")
        try batch(a, count: 6, seed: 1)   // density/coverage (k = 5) need 6
        try batch(b, count: 6, seed: 2)
        func status(_ object: [String: Any], _ side: String) -> String? {
            ((object["cache"] as? [String: Any])?[side] as? [String: Any])?["status"] as? String
        }

        let first = try CLI.json(["eval", a.path, b.path, "--json", "--kid-subset-size", "6"], environment: env)
        XCTAssertEqual(status(first, "samples"), "stored")
        XCTAssertEqual(status(first, "reference"), "stored")
        XCTAssertEqual(first["notes"] as? [String], [])
        let second = try CLI.json(["eval", a.path, b.path, "--json", "--kid-subset-size", "6"], environment: env)
        XCTAssertEqual(status(second, "samples"), "hit")
        XCTAssertEqual(status(second, "reference"), "hit")
        for key in ["fid", "sfid", "precision", "recall", "kid"] {
            XCTAssertEqual(first[key] as? Double, second[key] as? Double, "\(key): a cache hit gives the same number")
        }
        let fid = try CLI.json(["fid", a.path, b.path, "--json"], environment: env)
        XCTAssertEqual(status(fid, "a"), "hit")
        XCTAssertEqual(fid["fid"] as? Double, first["fid"] as? Double)
        let uncached = try CLI.json(["fid", a.path, b.path, "--json", "--no-cache"], environment: env)
        XCTAssertEqual(status(uncached, "a"), "off")
        XCTAssertEqual(uncached["fid"] as? Double, first["fid"] as? Double, "computed again: the same FID to the bit")

        // `features` of a cached input copies the entry; its pool rows are the ones computed.
        let features = dir.appendingPathComponent("a-features.npz")
        let made = try CLI.json(["features", a.path, "-o", features.path, "--json"], environment: env)
        XCTAssertEqual((made["cache"] as? [String: Any])?["status"] as? String, "hit")
        let fromFeatures = try CLI.json(["fid", features.path, b.path, "--json"], environment: env)
        XCTAssertEqual(fromFeatures["fid"] as? Double, first["fid"] as? Double)

        let list = try CLI.json(["cache", "list", "--json"], environment: env)
        XCTAssertEqual((list["entries"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(list["root"] as? String, dir.appendingPathComponent("cache/features").path)
        let cleared = try CLI.json(["cache", "clear", "--json"], environment: env)
        XCTAssertEqual(cleared["removed"] as? Int, 2)
        XCTAssertEqual((try CLI.json(["cache", "list", "--json"], environment: env)["entries"] as? [[String: Any]])?.count, 0)
    }

    /// Label accuracy through the binary: real images with their labels score near the ceiling,
    /// the same images with every label shifted by one score near zero, a features file keeps the
    /// batch's labels (`arr_1`) and gives the same number, and samples without labels get null
    /// with a note.
    func testLabelAccuracyThroughEvalAndFeatures() throws {
        let dir = try temporaryDirectory(self)
        let env = ["DIMR_EVAL_CACHE": dir.appendingPathComponent("cache").path, "DIMR_EVAL_WEIGHTS": Self.weights]
        let ref = dir.appendingPathComponent("ref.npz"), real = dir.appendingPathComponent("real.npz")
        XCTAssertEqual(try CLI.run(["shapes", "--held-out", "--count", "60", "-o", ref.path]).status, 0)
        XCTAssertEqual(try CLI.run(["shapes", "--first", "5000", "--count", "30", "-o", real.path]).status, 0)
        let images = try NpzFile(contentsOf: real)
        let labels = try images.array("arr_1").asInts()
        let shifted = dir.appendingPathComponent("shifted.npz"), unlabelled = dir.appendingPathComponent("unlabelled.npz")
        try writeNpz([("arr_0", try images.array("arr_0")), ("arr_1", NpyArray(int64: labels.map { Int64(($0 + 1) % 10) }, shape: [labels.count]))], to: shifted)
        try writeNpz([("arr_0", try images.array("arr_0"))], to: unlabelled)
        let options = ["--json", "--kid-subset-size", "30"]

        let right = try CLI.json(["eval", real.path, ref.path] + options, environment: env)
        let accuracy = try XCTUnwrap(right["label_accuracy"] as? Double)
        XCTAssertGreaterThanOrEqual(accuracy, 0.8, "real shapes with their own labels")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(right["label_accuracy_reference"] as? Double), 0.8)
        let wrong = try XCTUnwrap(try CLI.json(["eval", shifted.path, ref.path] + options, environment: env)["label_accuracy"] as? Double)
        XCTAssertLessThanOrEqual(wrong, 0.2, "the same images, each labelled as the next class")

        let features = dir.appendingPathComponent("ref-features.npz")
        XCTAssertEqual(try CLI.run(["features", ref.path, "-o", features.path], environment: env).status, 0)
        XCTAssertEqual(try NpzFile(contentsOf: features).array("arr_1").asInts(), try NpzFile(contentsOf: ref).array("arr_1").asInts())
        let viaFeatures = try CLI.json(["eval", real.path, features.path] + options, environment: env)
        XCTAssertEqual(viaFeatures["label_accuracy"] as? Double, accuracy)

        let none = try CLI.json(["eval", unlabelled.path, ref.path] + options, environment: env)
        XCTAssertTrue(none["label_accuracy"] is NSNull, "\(String(describing: none["label_accuracy"]))")
        XCTAssertTrue((none["label_accuracy_note"] as? String)?.contains("arr_1") == true)
    }

    /// `train`'s checkpoint scorer reads the held-out reference through the cache: a second run
    /// holding out the same images finds the first run's entry (no new one, same FID), and the
    /// checkpoints' samples, new every time, are not stored.
    func testTrainingScorerReadsTheReferenceFromTheCache() throws {
        let dir = try temporaryDirectory(self)
        let env = ["DIMR_EVAL_CACHE": dir.appendingPathComponent("cache").path, "DIMR_EVAL_WEIGHTS": Self.weights]
        func train(_ name: String) throws -> [String: Any] {
            let run = dir.appendingPathComponent(name)
            let result = try CLI.run(["train", "--arch", "dit", "--preset", "tiny", "--steps", "2", "--batch-size", "4",
                                      "--eval-every", "2", "--eval-samples", "6", "--eval-steps", "2", "--reference-count", "8",
                                      "--out", run.path, "--seed", "1"], environment: env)
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.last).utf8)) as? [String: Any])
        }
        func entries() throws -> [[String: Any]] {
            try XCTUnwrap(try CLI.json(["cache", "list", "--json"], environment: env)["entries"] as? [[String: Any]])
        }
        let first = try train("run1")
        let afterFirst = try entries()
        XCTAssertEqual(afterFirst.count, 1, "the reference only, not the checkpoint's samples")
        XCTAssertEqual(afterFirst.first?["images"] as? Int, 8)
        XCTAssertTrue((afterFirst.first?["source"] as? String)?.hasSuffix("run1/reference.npz") == true, "\(afterFirst)")
        let second = try train("run2")
        let afterSecond = try entries()
        XCTAssertEqual(afterSecond.count, 1, "run2 held out the same images: the entry was a hit")
        XCTAssertEqual(afterSecond.first?["file"] as? String, afterFirst.first?["file"] as? String)
        XCTAssertTrue((afterSecond.first?["source"] as? String)?.hasSuffix("run1/reference.npz") == true)
        let fid = try XCTUnwrap(first["fid"] as? Double)
        XCTAssertEqual(second["fid"] as? Double, fid, "same seed, same samples, cached reference: the same FID")
        XCTAssertNotNil(first["label_accuracy"] as? Double, "checkpoints are scored for label accuracy too")
    }

    /// `stats --layout pytorch-fid` writes mu and sigma only; statistics that record --resize
    /// pytorch are refused against images read in ADM mode, and a file that records nothing gets a
    /// note in the output and in JSON `notes`.
    func testStatisticsLayoutAndProvenance() throws {
        let dir = try temporaryDirectory(self)
        let env = ["DIMR_EVAL_CACHE": dir.appendingPathComponent("cache").path, "DIMR_EVAL_WEIGHTS": Self.weights]
        let a = dir.appendingPathComponent("a.npz"), b = dir.appendingPathComponent("b.npz")
        try batch(a, count: 3, seed: 3)
        try batch(b, count: 3, seed: 4)
        let pytorchStats = dir.appendingPathComponent("a-pytorch.npz"), foreign = dir.appendingPathComponent("a-foreign.npz")
        let summary = try CLI.json(["stats", a.path, "-o", pytorchStats.path, "--resize", "pytorch", "--json"], environment: env)
        XCTAssertEqual((summary["preprocessing"] as? [String: Any])?["resize"] as? String, "pytorch")
        _ = try CLI.json(["stats", a.path, "-o", foreign.path, "--resize", "pytorch", "--layout", "pytorch-fid", "--json"], environment: env)
        XCTAssertEqual(Set(try NpzFile(contentsOf: foreign).names), ["mu", "sigma"])

        let mixed = try CLI.run(["fid", pytorchStats.path, b.path], environment: env)
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.stderr.contains("a-pytorch.npz was made with --resize pytorch") && mixed.stderr.contains("--resize adm"), mixed.stderr)
        let matched = try CLI.json(["fid", pytorchStats.path, b.path, "--resize", "pytorch", "--json"], environment: env)
        XCTAssertEqual(matched["notes"] as? [String], [])

        let noted = try CLI.json(["fid", foreign.path, b.path, "--json"], environment: env)
        let notes = try XCTUnwrap(noted["notes"] as? [String])
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].contains("a-foreign.npz records no preprocessing") && notes[0].contains("pytorch-fid → --resize pytorch"), notes[0])
        let text = try CLI.run(["fid", foreign.path, b.path], environment: env)
        XCTAssertTrue(text.stdout.contains("note: a-foreign.npz records no preprocessing"), text.stdout)
    }

    /// scripts/slurm/features-array.sbatch as Slurm would run it: three array tasks at once (each
    /// `features --shard i/3` in its own process), then the merge task. The merged features equal
    /// a single pass byte for byte, so statistics and FID are identical too.
    func testParallelShardsMergeToTheSinglePass() throws {
        let dir = try temporaryDirectory(self)
        let images = dir.appendingPathComponent("images.npz"), other = dir.appendingPathComponent("other.npz")
        try batch(images, count: 10, seed: 5, labelled: true)
        try batch(other, count: 4, seed: 6)
        let out = dir.appendingPathComponent("out")
        let script = Self.packageRoot.appendingPathComponent("scripts/slurm/features-array.sbatch").path
        var env = ProcessInfo.processInfo.environment
        env["IMAGES"] = images.path; env["OUT"] = out.path; env["DIMR_EVAL"] = CLI.binary.path
        // Batches of 2: 5 batches, shards of 1, 2 and 2 of them (shards are cut between batches).
        env["DIMR_EVAL_WEIGHTS"] = Self.weights; env["BATCH_SIZE"] = "2"
        env["SLURM_ARRAY_TASK_COUNT"] = nil; env["SLURM_ARRAY_TASK_ID"] = nil; env["SHARDS"] = nil
        env["OPENBLAS_NUM_THREADS"] = "1"
        func task(_ arguments: [String], _ extra: [String: String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [script] + arguments
            p.environment = env.merging(extra) { $1 }
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        let tasks = try (0..<3).map { try task([], ["SLURM_ARRAY_TASK_ID": "\($0)", "SLURM_ARRAY_TASK_COUNT": "3"]) }
        for t in tasks { t.waitUntilExit(); XCTAssertEqual(t.terminationStatus, 0, "array task failed") }
        // The merge job is not an array task: it finds n = 3 from the parts' names.
        let merge = try task(["merge"], [:])
        merge.waitUntilExit()
        XCTAssertEqual(merge.terminationStatus, 0, "merge task failed")

        let single = dir.appendingPathComponent("single.npz")
        let made = try CLI.run(["features", images.path, "-o", single.path, "--no-cache", "--batch-size", "2"],
                               environment: ["DIMR_EVAL_WEIGHTS": Self.weights])
        XCTAssertEqual(made.status, 0, made.stderr)
        let merged = try NpzFile(contentsOf: out.appendingPathComponent("features.npz")), one = try NpzFile(contentsOf: single)
        for name in ["pool", "spatial", "index", "arr_1"] {
            XCTAssertTrue(try merged.array(name).bytes == one.array(name).bytes, "\(name): the merge equals one pass byte for byte")
        }
        let fids = try [out.appendingPathComponent("features.npz"), single].map { url in
            try CLI.json(["fid", url.path, other.path, "--json"], environment: ["DIMR_EVAL_WEIGHTS": Self.weights, "DIMR_EVAL_CACHE": dir.path + "/cache"])
        }
        XCTAssertEqual(fids[0]["fid"] as? Double, fids[1]["fid"] as? Double)
        let stats = try [out.appendingPathComponent("features.npz"), single].map { url -> NpzFile in
            let s = dir.appendingPathComponent("stats-\(url.lastPathComponent)")
            XCTAssertEqual(try CLI.run(["stats", url.path, "-o", s.path]).status, 0)
            return try NpzFile(contentsOf: s)
        }
        for name in ["mu", "sigma", "mu_s", "sigma_s", "count"] {
            XCTAssertTrue(try stats[0].array(name).bytes == stats[1].array(name).bytes, "\(name) identical")
        }
    }
}
