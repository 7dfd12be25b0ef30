import ArgumentParser
import DiMRTrainer
import Distortion
import Eval
import Foundation
import TensorIO

/// The README's main job: the paper's pipeline end to end on the embedded data.
/// reference batch → train tiny DiT, U-ViT, DiMR (each scored while training) → sample →
/// every metric → distortion comparison → one HTML report. Each stage is the same verb a user
/// would run by hand, so the demo is also the integration test of the whole tool.
/// Default sizes fit the 45-minute budget on 2 cores, build included: the tiny models take
/// 0.14–0.4 s a step at batch 32 and Inception runs at ~5 images/s on 32×32 inputs upscaled to
/// 299, so the demo trains 1,000 steps each (x₀ target, the recipe's) and scores a few hundred
/// images; raise --steps and the counts on a bigger machine (RUNLOG.md: DiT draws every class
/// by ~7,500 steps).
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The end-to-end pipeline on the embedded data: train, sample, score, compare, report.")

    @Option(help: "Output folder (runs, samples, charts, report.html).") var out: String = "runs/demo"
    @Option(help: "Training steps per model.") var steps: Int = 1000
    @Option(help: "Score a checkpoint every N steps (FID/IS/precision/recall against the reference).") var evalEvery: Int = 500
    @Option(help: "Reference images drawn from the embedded data set (final scores).") var referenceCount: Int = 256
    @Option(help: "Clean images the distortion classifier is trained and calibrated on (half train, a quarter each calibration and test; hand-made features make these cheap).")
    var distortionReferenceCount: Int = 1024
    @Option(help: "Samples per model for the final scores and the distortion comparison.") var sampleCount: Int = 128
    @Option(help: "Samples scored at each checkpoint while training (small: Inception is the cost).") var evalSamples: Int = 64
    @Option(help: "Data images the checkpoints' samples are scored against while training.") var evalReferenceCount: Int = 128
    @Option(help: "Architectures to train, in the order of the comparison. Default: dit, uvit, dimr.", transform: Architecture.parse)
    var arch: [Architecture] = [.dit, .uvit, .dimr]
    @Option(help: "Features of the distortion classifier: handcrafted (spectral + image statistics, seconds) or inception (slower on 2 cores).")
    var distortionFeatures: FeatureChoice = .handcrafted
    @Option(help: "Seed for everything.") var seed: Int = 0
    @Flag(help: "Print a JSON summary at the end.") var json = false

    static let displayNames: [Architecture: String] = [.dit: "DiT", .uvit: "U-ViT", .dimr: "DiMR"]

    func validate() throws {
        if steps < 1 || evalEvery < 1 || referenceCount < 10 || sampleCount < 10 {
            throw ValidationError("--steps, --eval-every must be ≥ 1 and --reference-count, --sample-count ≥ 10")
        }
        let minimum = DistortionTrainingOptions.minimumReferenceImages
        if distortionReferenceCount < minimum {
            throw ValidationError("--distortion-reference-count must be at least \(minimum) (train, calibration and test sets), got \(distortionReferenceCount)")
        }
    }

    func run() throws {
        let root = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let started = Date()
        func stage(_ text: String) {
            let t = Int(Date().timeIntervalSince(started))
            FileHandle.standardError.write(Data("[demo \(t / 60)m\(String(format: "%02d", t % 60))s] \(text)\n".utf8))
        }

        // 1. The reference batch: real images of the embedded data set, in ADM format.
        let reference = root.appendingPathComponent("reference.npz")
        let referenceFeatures = root.appendingPathComponent("reference-features.npz")
        if !holdsBatch(reference, count: referenceCount) {
            try? FileManager.default.removeItem(at: referenceFeatures)  // features of an older reference
            stage("writing \(referenceCount) reference images → \(reference.path)")
            try writeReferenceBatch(count: referenceCount, firstIndex: 1_000_000, to: reference)
        }

        // Reference features once, reused by every model's final scores.
        if !FileManager.default.fileExists(atPath: referenceFeatures.path) {
            stage("Inception features of the reference batch → \(referenceFeatures.path)")
            let features = try Features.parse([reference.path, "-o", referenceFeatures.path])
            try features.run()
        }

        // 2–4. Train each model (scored every --eval-every steps), sample, score every metric.
        var sampleFiles: [String] = [], runDirs: [String] = []
        for a in arch {
            let run = root.appendingPathComponent(a.rawValue)
            runDirs.append(run.path)
            stage("training \(Self.displayNames[a]!) (tiny preset, \(steps) steps) → \(run.path)")
            let train = try Train.parse(["--arch", a.rawValue, "--preset", "tiny", "--steps", "\(steps)",
                                         "--eval-every", "\(evalEvery)", "--out", run.path, "--seed", "\(seed)",
                                         "--eval-samples", "\(evalSamples)", "--reference-count", "\(evalReferenceCount)"]
                                        + (FileManager.default.fileExists(atPath: run.appendingPathComponent("latest.json").path) ? ["--resume"] : []))
            try train.run()

            let samples = run.appendingPathComponent("samples.npz")
            stage("sampling \(sampleCount) images from \(Self.displayNames[a]!)")
            // DDPM-100, as the scorer while training: on x₀-trained tiny models it beats the
            // deterministic solvers at the same checkpoint (RUNLOG.md).
            let sample = try Sample.parse([run.path, "--count", "\(sampleCount)", "--seed", "\(seed)", "--sampler", "ddpm", "--steps", "100",
                                           "-o", samples.path, "--grid", run.appendingPathComponent("samples.png").path])
            try sample.run()
            sampleFiles.append(samples.path)

            stage("scoring \(Self.displayNames[a]!): FID, sFID, IS, precision/recall, density/coverage, KID, label accuracy")
            let finalMetrics = run.appendingPathComponent("final-metrics.json")
            let evaluate = try Evaluate.parse([samples.path, referenceFeatures.path, "--fid-infinity", "--save-json", finalMetrics.path])
            try evaluate.run()
            try appendFinalScores(finalMetrics, to: run)
        }

        // 5. Distortion rates with confidence intervals, pairwise tests and a chart. The classifier
        // gets its own, larger set of clean images: its threshold is a quantile of the calibration
        // quarter's scores, and 64 images (a quarter of the FID reference) set a 5% quantile too
        // coarsely (15.6% of clean test images were flagged in one run).
        let distortionReference = root.appendingPathComponent("distortion-reference.npz")
        if !holdsBatch(distortionReference, count: distortionReferenceCount) {
            stage("writing \(distortionReferenceCount) clean images for the distortion classifier → \(distortionReference.path)")
            try writeReferenceBatch(count: distortionReferenceCount, firstIndex: 2_000_000, to: distortionReference)
        }
        let compareJSON = root.appendingPathComponent("distortion.json")
        stage("comparing distortion rates")
        let compare = try DistortionCommand.Compare.parse(
            sampleFiles + ["--ref", distortionReference.path, "--max-reference", "\(distortionReferenceCount)", "--labels", arch.map { Self.displayNames[$0]! }.joined(separator: ","),
                           "-o", root.appendingPathComponent("distortion.svg").path,
                           "--png", root.appendingPathComponent("distortion.png").path,
                           "--save-json", compareJSON.path, "--seed", "\(seed)", "--features", distortionFeatures.rawValue])
        try compare.run()

        // What the classifier flags, for a person to check: each model's 16 most distorted
        // samples as a grid (RUN/worst.png) and with their patch-seam evidence overlaid
        // (RUN/heatmaps/); the report draws them side by side. The classifier is the cached one
        // the comparison just used; the realism check is already in the comparison.
        for (i, a) in arch.enumerated() {
            let run = URL(fileURLWithPath: runDirs[i])
            stage("the 16 most distorted samples of \(Self.displayNames[a]!) → \(run.appendingPathComponent("worst.png").path), heatmaps/")
            let score = try DistortionCommand.Score.parse(
                [sampleFiles[i], "--ref", distortionReference.path, "--max-reference", "\(distortionReferenceCount)", "--seed", "\(seed)",
                 "--features", distortionFeatures.rawValue, "--realism", "off", "--worst", "16",
                 "--worst-grid", run.appendingPathComponent("worst.png").path, "--heatmap", run.appendingPathComponent("heatmaps").path])
            try score.run()
        }

        // 6. One self-contained page.
        let report = root.appendingPathComponent("report.html")
        stage("writing the report")
        let page = try Report.parse(runDirs + ["-o", report.path, "--compare", compareJSON.path,
                                               "--title", "dimr-eval demo: DiT vs U-ViT vs DiMR on the embedded data"])
        try page.run()

        let seconds = Int(Date().timeIntervalSince(started))
        if json {
            print(try demoSummaryJSON(seconds: seconds, report: report, root: root, runDirs: runDirs,
                                      sampleFiles: sampleFiles, comparison: compareJSON))
        } else {
            print("demo finished in \(seconds / 60) min \(seconds % 60) s")
            print("report: \(report.path)")
        }
    }

    /// The demo's last line under --json, a contract scripts rely on (extend it, don't change it):
    /// `seconds`, `models` (one `{label, arch, precision, recall, fid, kid, distortion_rate,
    /// samples, run_dir}` per model, since 2026-12-03 also `label_accuracy` and `label_accuracy_reference`, from its final-metrics.json and the comparison), `comparison`
    /// (the object `distortion compare --json` writes), plus `report` and `output`.
    func demoSummaryJSON(seconds: Int, report: URL, root: URL, runDirs: [String], sampleFiles: [String], comparison: URL) throws -> String {
        func object(_ url: URL) throws -> [String: Any] {
            guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw ValidationError("\(url.path): expected a JSON object")
            }
            return o
        }
        let compared = try object(comparison)
        let scores = compared["scores"] as? [[String: Any]] ?? []
        var models: [[String: Any]] = []
        for (i, a) in arch.enumerated() {
            let metrics = try object(URL(fileURLWithPath: runDirs[i]).appendingPathComponent("final-metrics.json"))
            var model: [String: Any] = ["label": Self.displayNames[a]!, "arch": a.rawValue, "samples": sampleFiles[i], "run_dir": runDirs[i]]
            for key in ["precision", "recall", "fid", "kid", "label_accuracy", "label_accuracy_reference"] { model[key] = metrics[key] ?? NSNull() }
            model["distortion_rate"] = i < scores.count ? scores[i]["distortion_rate"] ?? NSNull() : NSNull()
            models.append(model)
        }
        let summary: [String: Any] = ["seconds": seconds, "models": models, "comparison": compared,
                                      "report": report.path, "output": root.path]
        return try jsonObjectText(summary)
    }

    /// Adds the full metric suite of the final samples to the run's metrics.jsonl, so the report's
    /// ADM table shows every metric at the last step.
    func appendFinalScores(_ metrics: URL, to run: URL) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any] else { return }
        var record: [String: JSONValue] = ["step": .number(Double(steps)), "final": .string("\(sampleCount) samples")]
        for (key, value) in object {
            if let number = jsonNumber(value) { record[key] = .number(number) }
        }
        try appendJSONLine(record, to: run.appendingPathComponent("metrics.jsonl"), replacing: "final")
    }

    /// Whether `url` is an ADM batch of `count` images already (written by an earlier run).
    func holdsBatch(_ url: URL, count: Int) -> Bool {
        (try? NpzFile(contentsOf: url).header("arr_0").shape.first) == count
    }

    /// Writes `count` images of the embedded data set (seed 0, the training distribution) as an
    /// ADM batch: `arr_0` uint8 (N,32,32,3), `arr_1` int64 labels. The indices start far down the
    /// stream (`firstIndex`), so a reference is not the first training batch, and two references
    /// with different `firstIndex` share no image.
    func writeReferenceBatch(count: Int, firstIndex: Int, to url: URL) throws {
        try EmbeddedShapes(seed: UInt64(seed)).writeBatch(firstIndex..<(firstIndex + count), to: url)
    }
}
