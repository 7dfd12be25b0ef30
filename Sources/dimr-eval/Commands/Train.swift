import ArgumentParser
import DiMRTrainer
import Eval
import Foundation
import TensorCore
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

    /// The options given on this command line that contradict the saved run, as "--option: given
    /// X, the run has Y" (empty when they agree).
    func contradictions(model saved: ModelConfig, training: TrainConfig) -> [String] {
        var found: [String] = []
        func check<T: Equatable>(_ option: String, _ given: T?, _ savedValue: T) {
            if let given, given != savedValue { found.append("\(option): given \(given), the run has \(savedValue)") }
        }
        check("--arch", arch.rawValue, saved.architecture.rawValue)
        check("--preset", preset, saved.preset)
        check("--batch-size", batchSize, training.batchSize)
        check("--lr", lr, training.optimizer.learningRate)
        check("--warmup", warmup, training.optimizer.warmupSteps)
        check("--ema-rate", emaRate, training.emaRate)
        check("--schedule", schedule?.rawValue, training.schedule.rawValue)
        check("--eval-every", evalEvery, training.evalEvery)
        check("--eval-samples", evalSamples, training.evalSamples)
        check("--eval-steps", evalSteps, training.evalSampling.steps)
        check("--seed", seed, training.seed)
        // The recipe: a run saved before these options existed reads as ε, uniform, constant.
        check("--prediction", prediction?.rawValue, saved.target.rawValue)
        check("--position-init", positionInit?.rawValue, (saved.positionInit ?? .normal).rawValue)
        check("--eval-sampler", evalSampler?.rawValue, training.evalSampling.sampler.rawValue)
        switch training.timeSampling ?? .uniform {
        case .uniform:
            check("--time-sampling", timeSampling?.rawValue, TimeSamplingChoice.uniform.rawValue)
            for (option, given) in [("--time-mean", timeMean), ("--time-std", timeStd)] {
                if let given { found.append("\(option): given \(given), the run draws timesteps uniformly (no logit-normal \(option))") }
            }
        case .logitNormal(let mean, let std):
            check("--time-sampling", timeSampling?.rawValue, TimeSamplingChoice.logitNormal.rawValue)
            check("--time-mean", timeMean, mean)
            check("--time-std", timeStd, std)
        }
        switch training.lossWeighting ?? .constant {
        case .constant: check("--min-snr", minSnr, 0)
        case .minSNR(let gamma): check("--min-snr", minSnr, gamma)
        }
        switch training.optimizer.decay {
        case nil:
            check("--lr-decay", lrDecay?.rawValue, LearningRateDecayChoice.constant.rawValue)
            if let lrFloor { found.append("--lr-floor: given \(lrFloor), the run's learning rate is constant after warm-up (no cosine floor)") }
        case .cosine(_, let floor)?:
            check("--lr-decay", lrDecay?.rawValue, LearningRateDecayChoice.cosine.rawValue)
            check("--lr-floor", lrFloor, floor)
        }
        return found
    }

    func run() throws {
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for sub in ["", "checkpoints", "samples"] {   // temporaries of a killed run (never those of a live one)
            reportRemovedTemporaries(StaleTemporaries.remove(in: sub.isEmpty ? folder : folder.appendingPathComponent(sub)))
        }
        var config = TrainConfig()
        config.seed = seed ?? config.seed; config.batchSize = batchSize ?? config.batchSize; config.steps = steps
        config.optimizer.learningRate = lr ?? config.optimizer.learningRate
        config.optimizer.warmupSteps = warmup ?? config.optimizer.warmupSteps
        config.emaRate = emaRate ?? config.emaRate; config.schedule = schedule ?? .linear
        config.evalEvery = evalEvery ?? config.evalEvery; config.evalSamples = evalSamples ?? config.evalSamples
        config.evalSampling.steps = evalSteps ?? config.evalSampling.steps
        if let evalSampler { config.evalSampling.sampler = evalSampler }
        switch timeSampling {
        case .uniform?: config.timeSampling = .uniform
        case .logitNormal?: config.timeSampling = .logitNormal(mean: timeMean ?? 0, std: timeStd ?? 1)
        case nil: break
        }
        if let minSnr { config.lossWeighting = minSnr > 0 ? .minSNR(gamma: minSnr) : .constant }
        switch lrDecay {
        case .constant?: config.optimizer.decay = nil
        case .cosine?: config.optimizer.decay = .cosine(steps: steps, floor: lrFloor ?? 0.1)
        case nil: if case .cosine(_, let floor) = config.optimizer.decay { config.optimizer.decay = .cosine(steps: steps, floor: lrFloor ?? floor) }
        }
        let latest = folder.appendingPathComponent("latest.json")
        if !resume && FileManager.default.fileExists(atPath: latest.path) {
            throw ValidationError("\(out) already holds a run (\(latest.path)); pass --resume to continue it, or choose another --out")
        }
        var resumedState: CheckpointState?
        if resume {
            // The saved run decides model and training settings, except the step target; an
            // option given now that says otherwise is refused rather than silently ignored.
            let (state, _) = try Checkpoint.loadState(folder)
            let differences = contradictions(model: state.model, training: state.training)
            guard differences.isEmpty else {
                throw ValidationError("--resume: the options contradict the run saved in \(latest.path):\n  "
                                      + differences.joined(separator: "\n  ")
                                      + "\nleave them out to continue the run as saved, or train a new run with another --out")
            }
            resumedState = state
            config = state.training
        }
        let trainingData: TrainingData = try data.map { try ImageSourceTrainingData(url: URL(fileURLWithPath: $0), seed: config.seed) }
            ?? EmbeddedTrainingData(seed: config.seed)
        var modelConfiguration = try modelConfig(arch, preset: preset ?? "tiny", imageSize: trainingData.imageSize,
                                                 channels: 3, numClasses: trainingData.numClasses)
        modelConfiguration.prediction = prediction ?? TrainConfig.recipePrediction
        modelConfiguration.positionInit = positionInit ?? TrainConfig.recipePositionInit
        if let state = resumedState {
            if state.step >= steps {
                FileHandle.standardError.write(Data("\(out): already at step \(state.step) (--steps \(steps)); nothing to do\n".utf8))
                return
            }
            modelConfiguration = state.model
            config.steps = steps
        }
        let model = try makeModel(modelConfiguration, seed: config.seed)
        let trainer = try Trainer(model: model, data: trainingData, config: config, runFolder: folder)
        if resume { try trainer.resume() }
        let header = "\(modelConfiguration.architecture.rawValue) \(modelConfiguration.preset): \(model.parameters.count) parameters ("
            + model.parameters.countsByComponent.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "); data: \(trainingData.description)"
        FileHandle.standardError.write(Data((header + "\n").utf8))

        let scorer = noScore ? nil : TrainingScorer(folder: folder, referenceCount: referenceCount, log: warn)
        let tty = isatty(STDERR_FILENO) != 0
        let stepLog = try StepLogFile(folder.appendingPathComponent("train_log.jsonl"), continuingAfter: resume ? trainer.step : 0)
        var warnedNonFinite = false
        try trainer.run(logEvery: logEvery, log: { log in
            if !log.loss.isFinite && !warnedNonFinite {
                warnedNonFinite = true
                FileHandle.standardError.write(Data("warning: the loss is \(log.loss) at step \(log.step): training diverged (try a lower --lr)\n".utf8))
            }
            // A diverged run's NaN loss is still logged (as the string "NaN"), with its step.
            let line = jsonEventLine(log, event: "step", nonFinite: Checkpoint.nonFiniteAsStrings)
            stepLog.append(line)   // the report's loss curve
            if json {
                print(line)
            } else {
                let line = String(format: "step %d/%d  loss %.4f  |g| %.3f  lr %.2e  %.2f step/s  %.0f img/s", log.step, config.steps,
                                  log.loss, log.gradientNorm, log.learningRate, log.stepsPerSecond, log.imagesPerSecond)
                if tty { FileHandle.standardError.write(Data(("\r" + line + "   ").utf8)) } else { print(line) }
            }
        }, evaluationLog: { record in
            if json { print(jsonEventLine(record, event: "eval", nonFinite: Checkpoint.nonFiniteAsStrings)); return }
            let text = (try? jsonText(record, style: .line)) ?? "\(record)"
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            print("eval " + text)
        }, evaluate: scorer.map { scorer in
            { try scorer.score(step: $0.step, samples: $0.samples, labels: $0.labels, reference: $0.data.referenceImages) }
        })
        if tty && !json { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

enum TimeSamplingChoice: String, ExpressibleByArgument, CaseIterable { case uniform, logitNormal = "logit-normal" }
enum LearningRateDecayChoice: String, ExpressibleByArgument, CaseIterable { case constant, cosine }
extension Prediction: ExpressibleByArgument {}
extension PositionInit: ExpressibleByArgument {}
extension SamplerKind: OptionChoice {}
extension Architecture: OptionChoice {}
extension NoiseSchedule.Kind: OptionChoice {}

/// DIR/train_log.jsonl: every logged step, appended. A resumed run continues the same file
/// exactly: the lines a killed run logged after its last checkpoint (steps > `step`, which the
/// resumed run trains again) and a half-written last line are dropped first; a new run starts
/// an empty file.
final class StepLogFile {
    private let handle: FileHandle
    init(_ url: URL, continuingAfter step: Int) throws {
        let old = FileManager.default.contents(atPath: url.path) ?? Data()
        let kept = old.split(separator: 0x0A).filter { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let logged = object["step"] as? Int else { return false }
            return logged <= step   // nothing is kept for a new run (step 0)
        }
        var text = Data(kept.joined(separator: [0x0A]))
        if !text.isEmpty { text.append(0x0A) }
        if text != old || !FileManager.default.fileExists(atPath: url.path) { try writeAtomically(text, to: url) }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw ValidationError("cannot write the step log \(url.path)")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }
    func append(_ line: String) { handle.write(Data((line + "\n").utf8)) }
    deinit { try? handle.close() }
}
