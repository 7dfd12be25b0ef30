import ArgumentParser
import DiMRTrainer
import Distortion
import Eval
import Foundation
import Pipeline

/// `dimr-eval demo`: the README's main job, `DemoPipeline` on the embedded data (train tiny DiT,
/// U-ViT and DiMR, sample, score, compare distortion rates, write one report). Each stage prints
/// what the verb doing the same work prints; stage lines go to stderr.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The end-to-end pipeline on the embedded data: train, sample, score, compare, report.")

    /// The defaults are the pipeline's (see `DemoPipeline.Settings` for why these sizes).
    private static let defaults = DemoPipeline.Settings()

    @Option(help: "Output folder (runs, samples, charts, report.html).") var out: String = Demo.defaults.output.relativePath
    @Option(help: "Training steps per model.") var steps: Int = Demo.defaults.steps
    @Option(help: "Score a checkpoint every N steps (FID/IS/precision/recall against the reference).") var evalEvery: Int = Demo.defaults.evalEvery
    @Option(help: "Reference images drawn from the embedded data set (final scores).") var referenceCount: Int = Demo.defaults.referenceCount
    @Option(help: "Clean images the distortion classifier is trained and calibrated on (half train, a quarter each calibration and test; hand-made features make these cheap).")
    var distortionReferenceCount: Int = Demo.defaults.distortionReferenceCount
    @Option(help: "Samples per model for the final scores and the distortion comparison.") var sampleCount: Int = Demo.defaults.sampleCount
    @Option(help: "Samples scored at each checkpoint while training (small: Inception is the cost).") var evalSamples: Int = Demo.defaults.evalSamples
    @Option(help: "Data images the checkpoints' samples are scored against while training.") var evalReferenceCount: Int = Demo.defaults.evalReferenceCount
    @Option(help: "Architectures to train, in the order of the comparison. Default: dit, uvit, dimr.", transform: Architecture.parse)
    var arch: [Architecture] = Demo.defaults.architectures
    @Option(help: "Features of the distortion classifier: handcrafted (spectral + image statistics, seconds) or inception (slower on 2 cores).")
    var distortionFeatures: DistortionClassifierChoice.Features = Demo.defaults.distortionFeatures
    @Option(help: "Seed for everything.") var seed: Int = Demo.defaults.seed
    @Flag(help: "Print a JSON summary at the end.") var json = false

    func validate() throws {
        if steps < 1 || evalEvery < 1 || referenceCount < 10 || sampleCount < 10 {
            throw ValidationError("--steps, --eval-every must be ≥ 1 and --reference-count, --sample-count ≥ 10")
        }
        let minimum = DistortionTrainingOptions.minimumReferenceImages
        if distortionReferenceCount < minimum {
            throw ValidationError("--distortion-reference-count must be at least \(minimum) (train, calibration and test sets), got \(distortionReferenceCount)")
        }
    }

    var settings: DemoPipeline.Settings {
        var settings = DemoPipeline.Settings()
        settings.output = URL(fileURLWithPath: out)
        settings.steps = steps; settings.evalEvery = evalEvery
        settings.referenceCount = referenceCount; settings.distortionReferenceCount = distortionReferenceCount
        settings.sampleCount = sampleCount; settings.evalSamples = evalSamples; settings.evalReferenceCount = evalReferenceCount
        settings.architectures = arch; settings.distortionFeatures = distortionFeatures; settings.seed = seed
        return settings
    }

    func run() throws {
        var training: TrainingProgressPrinter?
        let result = try refusingOptions {
            try DemoPipeline(settings, featureCache: try FeatureCache()).run { event in
                switch event {
                case .stage(let text, let elapsed):
                    let t = Int(elapsed)
                    warn("[demo \(t / 60)m\(String(format: "%02d", t % 60))s] \(text)")
                case .note(let text): warn(text)
                case .referenceFeatures(let url, let written, let seconds):
                    Features.printSummary(url, rows: written.rows, sourceImages: nil, seconds: seconds, cache: written.cache)
                case .trainingStarted(let run): training = TrainingProgressPrinter(run, json: false)
                case .trainingStep(let log, let line): training?.step(log, line: line)
                case .checkpointScored(let record): training?.checkpoint(record)
                case .trainingFinished: training?.finish(); training = nil
                case .sampled(let batch, let output): Sample.printSummary(batch, output: output.path)
                case .scored(_, let report): print(Evaluate.table(report))
                case .compared(let comparison, let confidence, let charts):
                    DistortionCommand.Compare.printSummary(comparison, confidence: confidence, charts: charts.map(\.path))
                case .mostDistorted(_, let score, let classifier, let grid, let heatmaps):
                    DistortionCommand.Score.printSummary(score, classifier: classifier, worstGrid: (grid.count, grid.url.path), heatmaps: heatmaps.path)
                case .reportWritten(let url, let bytes, let runs): Report.printSummary(report: url, bytes: bytes, runs: runs)
                }
            }
        }
        if json {
            print(try result.summaryJSON())
        } else {
            print("demo finished in \(result.seconds / 60) min \(result.seconds % 60) s")
            print("report: \(result.report.path)")
        }
    }
}
