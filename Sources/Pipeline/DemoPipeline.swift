import DiMRTrainer
import Distortion
import Eval
import Foundation
import TensorIO

/// The README's main job: the paper's pipeline end to end on the embedded data.
/// reference batch → train tiny DiT, U-ViT, DiMR (each scored while training) → sample →
/// every metric → distortion comparison → one HTML report. Each stage is the library work the
/// verb a user would run by hand does (`train`, `sample`, `eval`, `distortion compare|score`,
/// `report`), so the demo is also the integration test of the whole tool.
public struct DemoPipeline {
    /// The defaults fit the 45-minute budget on 2 cores, build included: the tiny models take
    /// 0.14–0.4 s a step at batch 32 and Inception runs at ~5 images/s on 32×32 inputs upscaled
    /// to 299, so the demo trains 1,000 steps each (x₀ target, the recipe's) and scores a few
    /// hundred images; raise `steps` and the counts on a bigger machine (RUNLOG.md: DiT draws
    /// every class by ~7,500 steps).
    public struct Settings: Sendable {
        /// Output folder: one run folder per model, the references, the comparison, report.html.
        public var output = URL(fileURLWithPath: "runs/demo")
        /// Training steps per model.
        public var steps = 1000
        /// Score a checkpoint every N steps (FID/IS/precision/recall against held-out data).
        public var evalEvery = 500
        /// Reference images of the final scores, drawn from the embedded data set.
        public var referenceCount = 256
        /// Clean images the distortion classifier is trained and calibrated on (half train, a
        /// quarter each calibration and test). Its threshold is a quantile of the calibration
        /// quarter's scores, and 64 images (a quarter of the FID reference) set a 5% quantile too
        /// coarsely (15.6% of clean test images were flagged in one run), hence a set of its own.
        public var distortionReferenceCount = 1024
        /// Samples per model for the final scores and the distortion comparison.
        public var sampleCount = 128
        /// Samples scored at each checkpoint while training (small: Inception is the cost).
        public var evalSamples = 64
        /// Held-out images the checkpoints' samples are scored against while training.
        public var evalReferenceCount = 128
        /// Architectures trained, in the order of the comparison.
        public var architectures: [Architecture] = [.dit, .uvit, .dimr]
        /// Features of the distortion classifier (hand-made ones take seconds; Inception's are slow on 2 cores).
        public var distortionFeatures: DistortionClassifierChoice.Features = .handcrafted
        /// Seed of everything.
        public var seed = 0
        /// Print a training log line every N steps.
        public var logEvery = 10
        public init() {}
    }

    /// The names the comparison and the report give each architecture.
    public static let displayNames: [Architecture: String] = [.dit: "DiT", .uvit: "U-ViT", .dimr: "DiMR"]

    /// What the pipeline does, as it happens, for the caller to show (the CLI prints each as the
    /// verb that does the same work would, and stages and notes on stderr).
    public enum Event {
        /// A stage starts, `elapsed` seconds after the pipeline did.
        case stage(String, elapsed: TimeInterval)
        /// Something the user should know (removed temporaries, skipped checks, training notes).
        case note(String)
        case referenceFeatures(URL, FeaturesFile.Written, seconds: TimeInterval)
        /// A model's run is ready; its steps and checkpoint scores follow, then `trainingFinished`.
        case trainingStarted(TrainingRun)
        /// A logged step and its line of train_log.jsonl.
        case trainingStep(StepLog, line: String)
        /// A checkpoint's record of metrics.jsonl.
        case checkpointScored([String: JSONValue])
        case trainingFinished
        case sampled(SampledBatch, output: URL)
        /// A model's final scores (its final-metrics.json).
        case scored(label: String, MetricSuite.Report)
        /// charts: the SVG and PNG bar charts written.
        case compared(DistortionComparison, confidence: Double, charts: [URL])
        /// A model's most distorted samples: their grid and the folder of their seam heatmaps.
        case mostDistorted(label: String, DistortionScore, classifier: String, grid: (count: Int, url: URL), heatmaps: URL)
        case reportWritten(URL, bytes: Int, runs: Int)
    }

    public let settings: Settings
    /// Where Inception features and trained distortion classifiers are kept between runs.
    public let featureCache: FeatureCache?
    public let classifierCache: DistortionClassifierCache

    /// featureCache nil: features are always computed.
    public init(_ settings: Settings, featureCache: FeatureCache?, classifierCache: DistortionClassifierCache = DistortionClassifierCache()) {
        self.settings = settings; self.featureCache = featureCache; self.classifierCache = classifierCache
    }

    /// Runs every stage into `settings.output`. Run again on the same folder, it reuses the
    /// references and their features and resumes (or skips) each model's training.
    public func run(events: @escaping (Event) -> Void) throws -> DemoResult {
        let s = settings, root = s.output
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for url in StaleTemporaries.remove(in: root) { events(.note(StaleTemporaries.removalNote(url))) }
        let started = Date()
        func stage(_ text: String) { events(.stage(text, elapsed: Date().timeIntervalSince(started))) }
        let note: (String) -> Void = { events(.note($0)) }
        // One network for the reference features and every model's final scores (the weights
        // are loaded once); the feature cache serves a reference seen before.
        let inception = ExtractorProvider(cache: featureCache)

        // 1. The reference batch: real images of the embedded data set, in ADM format.
        let reference = root.appendingPathComponent("reference.npz")
        let referenceFeatures = root.appendingPathComponent("reference-features.npz")
        if !holdsBatch(reference, count: s.referenceCount) {
            try? FileManager.default.removeItem(at: referenceFeatures)  // features of an older reference
            stage("writing \(s.referenceCount) reference images → \(reference.path)")
            try writeReferenceBatch(count: s.referenceCount, firstIndex: 1_000_000, to: reference)
        }
        // Reference features once, reused by every model's final scores.
        if !FileManager.default.fileExists(atPath: referenceFeatures.path) {
            stage("Inception features of the reference batch → \(referenceFeatures.path)")
            let featuresStarted = Date()
            let written = try FeaturesFile.write(try openImageSource(reference), shard: nil, provider: inception, to: referenceFeatures)
            events(.referenceFeatures(referenceFeatures, written, seconds: Date().timeIntervalSince(featuresStarted)))
        }

        // 2–4. Train each model (scored every `evalEvery` steps), sample, score every metric.
        var models: [DemoResult.Model] = []
        for architecture in s.architectures {
            let name = Self.displayNames[architecture]!
            let run = root.appendingPathComponent(architecture.rawValue)
            stage("training \(name) (tiny preset, \(s.steps) steps) → \(run.path)")
            try train(architecture, in: run, events: events)

            let samples = run.appendingPathComponent("samples.npz")
            stage("sampling \(s.sampleCount) images from \(name)")
            // DDPM-100, as the scorer while training: on x₀-trained tiny models it beats the
            // deterministic solvers at the same checkpoint (RUNLOG.md).
            var sampling = SamplingRequest(checkpoint: run, count: s.sampleCount, options: SamplingOptions(sampler: .ddpm, steps: 100),
                                           output: samples)
            sampling.seed = UInt64(s.seed)
            sampling.grid = run.appendingPathComponent("samples.png")
            events(.sampled(try sampleCheckpoint(sampling), output: samples))

            stage("scoring \(name): FID, sFID, IS, precision/recall, density/coverage, KID, label accuracy")
            var metrics = MetricSuite.Settings()
            metrics.unbiased = MetricSuite.UnbiasedSettings()   // FID∞, IS∞ and FID's interval
            let scores = try MetricSuite.evaluate(samplesFile: samples, referenceFile: referenceFeatures, provider: inception, settings: metrics)
            try writeAtomically(Data(try jsonText(scores, style: .document).utf8), to: run.appendingPathComponent("final-metrics.json"))
            events(.scored(label: name, scores))
            try appendFinalScores(scores, to: run)
            models.append(DemoResult.Model(label: name, architecture: architecture, runFolder: run, samples: samples, finalScores: scores))
        }

        // 5. Distortion rates with confidence intervals, pairwise tests and a chart, from a
        // classifier trained on clean images of its own (see `Settings.distortionReferenceCount`).
        let distortionReference = root.appendingPathComponent("distortion-reference.npz")
        if !holdsBatch(distortionReference, count: s.distortionReferenceCount) {
            stage("writing \(s.distortionReferenceCount) clean images for the distortion classifier → \(distortionReference.path)")
            try writeReferenceBatch(count: s.distortionReferenceCount, firstIndex: 2_000_000, to: distortionReference)
        }
        stage("comparing distortion rates")
        var choice = DistortionClassifierChoice(origin: .trained(reference: distortionReference))
        choice.features = s.distortionFeatures
        choice.training.seed = UInt64(s.seed)
        choice.training.maxReferenceImages = s.distortionReferenceCount
        choice.cache = classifierCache
        let scorer = try choice.scorer(log: note)
        var scoring = DistortionScoringOptions()
        scoring.seed = UInt64(s.seed)
        let comparison = try scorer.compare(models.map(\.samples), labels: models.map(\.label), options: scoring,
                                            realism: try RealismReference.load(.auto, reference: distortionReference.path, weights: nil,
                                                                                   cache: featureCache, log: note))
        let charts = [root.appendingPathComponent("distortion.svg"), root.appendingPathComponent("distortion.png")]
        try writeDistortionRateChart(comparison, confidence: scoring.confidence, svg: charts[0], png: charts[1])
        let comparisonFile = root.appendingPathComponent("distortion.json")
        try writeAtomically(Data(try jsonText(comparison, style: .document).utf8), to: comparisonFile)
        events(.compared(comparison, confidence: scoring.confidence, charts: charts))

        // What the classifier flags, for a person to check: each model's 16 most distorted
        // samples as a grid (RUN/worst.png) and with their patch-seam evidence overlaid
        // (RUN/heatmaps/); the report draws them side by side. The realism check is already in
        // the comparison.
        scoring.keepWorst = 16
        for model in models {
            let grid = model.runFolder.appendingPathComponent("worst.png"), heatmaps = model.runFolder.appendingPathComponent("heatmaps")
            stage("the 16 most distorted samples of \(model.label) → \(grid.path), heatmaps/")
            var (score, worst) = try scorer.score(model.samples, options: scoring, realism: nil)
            try writeMostDistortedGrid(worst, to: grid)
            score.heatmaps = try writeSeamHeatmaps(worst, count: scoring.keepWorst, to: heatmaps)
            events(.mostDistorted(label: model.label, score, classifier: scorer.location, grid: (worst.count, grid), heatmaps: heatmaps))
        }

        // 6. One self-contained page.
        let report = root.appendingPathComponent("report.html")
        stage("writing the report")
        var page = try ReportInputs(runFolders: models.map(\.runFolder), comparisonFile: comparisonFile)
        page.title = "dimr-eval demo: DiT vs U-ViT vs DiMR on the embedded data"
        events(.reportWritten(report, bytes: try writeHTMLReport(page, to: report), runs: page.runs.count))

        return DemoResult(seconds: Int(Date().timeIntervalSince(started)), models: models, comparison: comparison, report: report, output: root)
    }

    /// One model's training run: a new one, or the one already in `run` resumed (or left as it
    /// is when it has all its steps), with the settings `dimr-eval train` would get from the demo.
    private func train(_ architecture: Architecture, in run: URL, events: @escaping (Event) -> Void) throws {
        var request = TrainingRequest(folder: run, architecture: architecture, steps: settings.steps)
        request.preset = "tiny"
        request.evalEvery = settings.evalEvery
        request.evalSamples = settings.evalSamples
        request.referenceCount = settings.evalReferenceCount
        request.seed = UInt64(settings.seed)
        request.resume = FileManager.default.fileExists(atPath: run.appendingPathComponent("latest.json").path)
        guard let training = try TrainingRun.prepare(request, featureCache: featureCache, classifierCache: classifierCache,
                                                     log: { events(.note($0)) }) else { return }
        events(.trainingStarted(training))
        try training.run(logEvery: settings.logEvery, step: { events(.trainingStep($0, line: $1)) },
                         evaluation: { events(.checkpointScored($0)) })
        events(.trainingFinished)
    }

    /// Adds the full metric suite of the final samples to the run's metrics.jsonl, so the report's
    /// ADM table shows every metric at the last step (a second run replaces the line).
    private func appendFinalScores(_ scores: MetricSuite.Report, to run: URL) throws {
        var record: [String: JSONValue] = ["step": .number(Double(settings.steps)), "final": .string("\(settings.sampleCount) samples")]
        for (key, value) in try jsonObject(scores) {
            if let number = jsonNumber(value) { record[key] = .number(number) }
        }
        try appendJSONLine(record, to: run.appendingPathComponent("metrics.jsonl"), replacing: "final")
    }

    /// Whether `url` is an ADM batch of `count` images already (written by an earlier run).
    private func holdsBatch(_ url: URL, count: Int) -> Bool {
        (try? NpzFile(contentsOf: url).header("arr_0").shape.first) == count
    }

    /// Writes `count` images of the embedded data set (the training distribution) as an ADM
    /// batch: `arr_0` uint8 (N,32,32,3), `arr_1` int64 labels. The indices start far down the
    /// stream (`firstIndex`), so a reference is not the first training batch, and two references
    /// with different `firstIndex` share no image.
    private func writeReferenceBatch(count: Int, firstIndex: Int, to url: URL) throws {
        try EmbeddedShapes(seed: UInt64(settings.seed)).writeBatch(firstIndex..<(firstIndex + count), to: url)
    }
}
