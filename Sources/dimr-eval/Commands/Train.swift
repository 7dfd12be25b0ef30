import ArgumentParser
import DiMRTrainer
import Foundation
import Pipeline
import TensorIO

/// `dimr-eval train`: trains DiMR, DiT or U-ViT on the embedded shapes (default) or user images;
/// every --eval-every steps writes a checkpoint, samples with the EMA weights and scores them
/// (FID, sFID, IS, precision/recall, …) against held-out data, appending to DIR/metrics.jsonl.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train DiMR, DiT or U-ViT.")

    // Settings saved with the run are optional here: with --resume, one that is given must agree
    // with the saved run (the defaults apply to new runs only).
    @Option(help: "Architecture: dimr, dit or uvit.", transform: Architecture.parse) var arch: Architecture
    @Option(help: "Size preset (tiny, small, …; DiMR also tiny-3R, small-3R). Default: tiny.") var preset: String?
    @Option(help: "Training images: ADM .npz / .npy / image folder. Default: the embedded procedural shapes.") var data: String?
    @Option(parsing: .unconditional, help: "Optimisation steps (with --resume: the new target).") var steps = 2000
    @Option(parsing: .unconditional, help: "Images per step. Default: 32.") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (after warm-up). Default: 0.001.") var lr: Float?
    @Option(parsing: .unconditional, help: "Linear warm-up steps. Default: 100.") var warmup: Int?
    @Option(parsing: .unconditional, help: "EMA rate of the sampling weights. Default: 0.999.") var emaRate: Float?
    @Option(help: "Noise schedule: linear or scaledLinear. Default: linear.", transform: NoiseSchedule.Kind.parse)
    var schedule: NoiseSchedule.Kind?
    @Option(help: "What the network predicts: epsilon, data (x₀) or velocity (v). Default: the training recipe's (README).")
    var prediction: Prediction?
    @Option(help: "Start of U-ViT's and DiMR's learned position tables: normal (the papers' N(0, 0.02)) or sincos (the 2-D sin-cos table). Default: the recipe's (README).")
    var positionInit: PositionInit?
    @Option(help: "Timesteps drawn for training: uniform or logit-normal (with --time-mean/--time-std). Default: the recipe's.")
    var timeSampling: TimeSamplingChoice?
    @Option(parsing: .unconditional, help: "Logit-normal timestep sampling: mean of the logit. Default: 0.") var timeMean: Double?
    @Option(parsing: .unconditional, help: "Logit-normal timestep sampling: standard deviation of the logit. Default: 1.") var timeStd: Double?
    @Option(parsing: .unconditional, help: "Min-SNR-γ loss weighting with this γ (0: off). Default: the recipe's.") var minSnr: Double?
    @Option(help: "Learning rate after warm-up: constant, or cosine down to --lr-floor × lr at the last step. Default: the recipe's.")
    var lrDecay: LearningRateDecayChoice?
    @Option(parsing: .unconditional, help: "Cosine decay's final learning rate as a fraction of --lr. Default: 0.1.") var lrFloor: Float?
    @Option(help: "Sampler of the checkpoint samples: ddpm, ddim or dpm-solver. Default: the recipe's.") var evalSampler: SamplerKind?
    @Option(help: "Run folder (checkpoints, metrics.jsonl).") var out: String
    @Option(parsing: .unconditional, help: "Checkpoint + sample + score every N steps (0: only at the end). Default: 500.") var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Samples per evaluation. Default: 256.") var evalSamples: Int?
    @Option(parsing: .unconditional, help: "Sampler steps per evaluation. Default: the recipe's (DDPM, 100 steps).") var evalSteps: Int?
    @Option(parsing: .unconditional, help: "Reference images for scoring.") var referenceCount = 1000
    @Flag(help: "Skip scoring (checkpoints and samples only).") var noScore = false
    @Flag(help: "Continue from DIR/latest.json exactly where it stopped.") var resume = false
    @Option(parsing: .unconditional, help: "Seed of everything random. Default: 0.") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Print a log line every N steps.") var logEvery = 10
    @Flag(help: "JSON lines on stdout.") var json = false

    func validate() throws {
        try requirePositive(steps, "--steps")
        if let batchSize { try requirePositive(batchSize, "--batch-size") }
        if let lr { try requirePositive(lr, "--lr") }
        if let warmup { try requireNonNegative(warmup, "--warmup") }
        if let emaRate { try requireUnitInterval(emaRate, "--ema-rate") }
        if let evalEvery { try requireNonNegative(evalEvery, "--eval-every") }
        if let evalSamples { try requireNonNegative(evalSamples, "--eval-samples") }
        if let evalSteps { try requirePositive(evalSteps, "--eval-steps") }
        if let timeMean { try requireFinite(timeMean, "--time-mean") }
        if let timeStd { try requirePositive(timeStd, "--time-std") }
        if let minSnr { try requireNonNegative(minSnr, "--min-snr") }
        if let lrFloor { try requireUnitInterval(lrFloor, "--lr-floor") }
        try require(referenceCount >= 2, "--reference-count", "at least 2 (a covariance needs 2 images)", referenceCount)
        try requirePositive(logEvery, "--log-every")
    }

    /// The options as a request: those not given stay nil (the recipe's in a new run, the saved
    /// run's with --resume).
    var request: TrainingRequest {
        var request = TrainingRequest(folder: URL(fileURLWithPath: out), architecture: arch, steps: steps)
        request.preset = preset; request.data = data.map { URL(fileURLWithPath: $0) }
        request.batchSize = batchSize; request.learningRate = lr; request.warmup = warmup; request.emaRate = emaRate
        request.schedule = schedule; request.prediction = prediction; request.positionInit = positionInit
        request.timeSampling = timeSampling; request.timeMean = timeMean; request.timeStd = timeStd; request.minSNR = minSnr
        request.learningRateDecay = lrDecay; request.learningRateFloor = lrFloor
        request.evalSampler = evalSampler; request.evalEvery = evalEvery; request.evalSamples = evalSamples; request.evalSteps = evalSteps
        request.referenceCount = referenceCount; request.score = !noScore; request.resume = resume; request.seed = seed
        return request
    }

    func run() throws {
        guard let training = try refusingOptions({ try TrainingRun.prepare(request, log: warn) }) else { return }
        let progress = TrainingProgressPrinter(training, json: json)
        try training.run(logEvery: logEvery, step: progress.step, evaluation: progress.checkpoint)
        progress.finish()
    }
}

/// How `train` shows a run (the demo shows its models' the same way): the header on stderr,
/// then each logged step (its JSON line on stdout with --json; otherwise a text line, rewritten
/// in place on a terminal) and each checkpoint's scores.
struct TrainingProgressPrinter {
    let json: Bool
    let totalSteps: Int
    let tty = isatty(STDERR_FILENO) != 0

    init(_ training: TrainingRun, json: Bool) {
        self.json = json
        totalSteps = training.trainer.config.steps
        warn(training.header)
    }

    func step(_ log: StepLog, line: String) {
        if json { print(line); return }
        let text = String(format: "step %d/%d  loss %.4f  |g| %.3f  lr %.2e  %.2f step/s  %.0f img/s", log.step, totalSteps,
                          log.loss, log.gradientNorm, log.learningRate, log.stepsPerSecond, log.imagesPerSecond)
        if tty { FileHandle.standardError.write(Data(("\r" + text + "   ").utf8)) } else { print(text) }
    }

    func checkpoint(_ record: [String: JSONValue]) {
        if json { print(jsonEventLine(record, event: "eval", nonFinite: Checkpoint.nonFiniteAsStrings)); return }
        let text = (try? jsonText(record, style: .line)) ?? "\(record)"
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        print("eval " + text)
    }

    func finish() {
        if tty && !json { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension TimeSamplingChoice: ExpressibleByArgument {}
extension LearningRateDecayChoice: ExpressibleByArgument {}
extension Prediction: ExpressibleByArgument {}
extension PositionInit: ExpressibleByArgument {}
extension SamplerKind: OptionChoice {}
extension Architecture: OptionChoice {}
extension NoiseSchedule.Kind: OptionChoice {}
