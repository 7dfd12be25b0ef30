import ArgumentParser
import DiMRTrainer
import Distortion
import Eval
import Foundation
import TensorCore
import TensorIO

/// `dimr-eval train`: trains DiMR, DiT or U-ViT on the embedded shapes (default) or user images;
/// every --eval-every steps writes a checkpoint, samples with the EMA weights and scores them
/// (FID, sFID, IS, precision/recall, …) against held-out data, appending to DIR/metrics.jsonl.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train DiMR, DiT or U-ViT.")

    @Option(help: "Architecture: dimr, dit or uvit.") var arch: String
    @Option(help: "Size preset (tiny, small, …; DiMR also tiny-3R, small-3R).") var preset = "tiny"
    @Option(help: "Training images: ADM .npz / .npy / image folder. Default: the embedded procedural shapes.") var data: String?
    @Option(help: "Optimisation steps.") var steps = 2000
    @Option(help: "Images per step.") var batchSize = 32
    @Option(help: "Peak learning rate (after warm-up).") var lr: Float = 1e-3
    @Option(help: "Linear warm-up steps.") var warmup = 100
    @Option(help: "EMA rate of the sampling weights.") var emaRate: Float = 0.999
    @Option(help: "Noise schedule: linear or scaledLinear.") var schedule = "linear"
    @Option(help: "What the network predicts: epsilon, data (x₀) or velocity (v). Default: the training recipe's (README).")
    var prediction: Prediction?
    @Option(help: "Timesteps drawn for training: uniform or logit-normal (with --time-mean/--time-std). Default: the recipe's.")
    var timeSampling: TimeSamplingChoice?
    @Option(help: "Logit-normal timestep sampling: mean and standard deviation of the logit.") var timeMean: Double = 0
    @Option(help: "Logit-normal timestep sampling: standard deviation of the logit.") var timeStd: Double = 1
    @Option(help: "Min-SNR-γ loss weighting with this γ (0: off). Default: the recipe's.") var minSnr: Double?
    @Option(help: "Learning rate after warm-up: constant, or cosine down to --lr-floor × lr at the last step. Default: the recipe's.")
    var lrDecay: LearningRateDecayChoice?
    @Option(help: "Cosine decay's final learning rate as a fraction of --lr.") var lrFloor: Float = 0.1
    @Option(help: "Sampler of the checkpoint samples: ddpm, ddim or dpm-solver. Default: the recipe's.") var evalSampler: SamplerKind?
    @Option(help: "Run folder (checkpoints, metrics.jsonl).") var out: String
    @Option(help: "Checkpoint + sample + score every N steps (0: only at the end).") var evalEvery = 500
    @Option(help: "Samples per evaluation.") var evalSamples = 256
    @Option(help: "Sampler steps per evaluation (DPM-Solver++ 2M).") var evalSteps = 10
    @Option(help: "Reference images for scoring.") var referenceCount = 1000
    @Flag(help: "Skip scoring (checkpoints and samples only).") var noScore = false
    @Flag(help: "Continue from DIR/latest.json exactly where it stopped.") var resume = false
    @Option(help: "Seed of everything random.") var seed: UInt64 = 0
    @Option(help: "Print a log line every N steps.") var logEvery = 10
    @Flag(help: "JSON lines on stdout.") var json = false

    func run() throws {
        guard let architecture = Architecture(rawValue: arch) else {
            throw ValidationError("--arch must be one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")), got '\(arch)'")
        }
        guard let scheduleKind = NoiseSchedule.Kind(rawValue: schedule) else {
            throw ValidationError("--schedule must be linear or scaledLinear, got '\(schedule)'")
        }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let trainingData: TrainingData = try data.map { try ImageSourceTrainingData(url: URL(fileURLWithPath: $0), seed: seed) }
            ?? EmbeddedTrainingData(seed: seed)
        var config = TrainConfig()
        config.seed = seed; config.batchSize = batchSize; config.steps = steps
        config.optimizer.learningRate = lr; config.optimizer.warmupSteps = warmup
        config.emaRate = emaRate; config.schedule = scheduleKind
        config.evalEvery = evalEvery; config.evalSamples = evalSamples; config.evalSampling.steps = evalSteps
        if let evalSampler { config.evalSampling.sampler = evalSampler }
        switch timeSampling {
        case .uniform?: config.timeSampling = .uniform
        case .logitNormal?: config.timeSampling = .logitNormal(mean: timeMean, std: timeStd)
        case nil: break
        }
        if let minSnr { config.lossWeighting = minSnr > 0 ? .minSNR(gamma: minSnr) : .constant }
        switch lrDecay {
        case .constant?: config.optimizer.decay = nil
        case .cosine?: config.optimizer.decay = .cosine(steps: steps, floor: lrFloor)
        case nil: if case .cosine(_, let floor) = config.optimizer.decay { config.optimizer.decay = .cosine(steps: steps, floor: floor) }
        }
        var modelConfiguration = try modelConfig(architecture, preset: preset, imageSize: trainingData.imageSize,
                                                 channels: 3, numClasses: trainingData.numClasses)
        modelConfiguration.prediction = prediction ?? TrainConfig.recipePrediction
        let latest = folder.appendingPathComponent("latest.json")
        if !resume && FileManager.default.fileExists(atPath: latest.path) {
            throw ValidationError("\(out) already holds a run (\(latest.path)); pass --resume to continue it, or choose another --out")
        }
        if resume {
            // the saved run decides model and training settings, except the step target
            let (state, _) = try Checkpoint.loadState(folder)
            if state.step >= steps {
                FileHandle.standardError.write(Data("\(out): already at step \(state.step) (--steps \(steps)); nothing to do\n".utf8))
                return
            }
            modelConfiguration = state.model
            let target = steps
            config = state.training
            config.steps = target
        }
        let model = try makeModel(modelConfiguration, seed: config.seed)
        let trainer = try Trainer(model: model, data: trainingData, config: config, runFolder: folder)
        if resume { try trainer.resume() }
        let header = "\(architecture.rawValue) \(preset): \(model.parameters.count) parameters ("
            + model.parameters.countsByComponent.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "); data: \(trainingData.description)"
        FileHandle.standardError.write(Data((header + "\n").utf8))

        let scorer = noScore ? nil : TrainingScorer(folder: folder, referenceCount: referenceCount)
        let tty = isatty(STDERR_FILENO) != 0
        let stepLog = try StepLogFile(folder.appendingPathComponent("train_log.jsonl"))
        try trainer.run(logEvery: logEvery, log: { log in
            let line = jsonLine(log, event: "step")
            stepLog.append(line)   // the report's loss curve
            if json {
                print(line)
            } else {
                let line = String(format: "step %d/%d  loss %.4f  |g| %.3f  lr %.2e  %.2f step/s  %.0f img/s", log.step, config.steps,
                                  log.loss, log.gradientNorm, log.learningRate, log.stepsPerSecond, log.imagesPerSecond)
                if tty { FileHandle.standardError.write(Data(("\r" + line + "   ").utf8)) } else { print(line) }
            }
        }, evaluationLog: { record in
            if json { print(jsonLine(record, event: "eval")); return }
            let encoder = JSONEncoder(); encoder.outputFormatting = [.sortedKeys]
            let text = String(decoding: try! encoder.encode(record), as: UTF8.self)
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            print("eval " + text)
        }, evaluate: scorer.map { s in { try s.score($0) } })
        if tty && !json { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

enum TimeSamplingChoice: String, ExpressibleByArgument, CaseIterable { case uniform, logitNormal = "logit-normal" }
enum LearningRateDecayChoice: String, ExpressibleByArgument, CaseIterable { case constant, cosine }
extension Prediction: ExpressibleByArgument {}
extension SamplerKind: ExpressibleByArgument {}

/// DIR/train_log.jsonl: every logged step, appended (a resumed run continues the same file).
final class StepLogFile {
    private let handle: FileHandle
    init(_ url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw ValidationError("cannot write the step log \(url.path)")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }
    func append(_ line: String) { handle.write(Data((line + "\n").utf8)) }
    deinit { try? handle.close() }
}

/// One JSON line for scripts: the value's fields plus `"event"` naming what kind of line it is.
func jsonLine<T: Encodable>(_ value: T, event: String) -> String {
    let encoder = JSONEncoder(); encoder.outputFormatting = [.sortedKeys]
    let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    // Spliced in as text: a round trip through JSONSerialization turns 0 and 1 into booleans on Linux.
    let rest = text.dropFirst()
    return "{\"event\":\"\(event)\"" + (rest.hasPrefix("}") ? "" : ",") + rest
}

/// Scores a checkpoint's samples with the Eval library: the samples and the held-out reference
/// images go through the same Inception feature extractor as `dimr-eval evaluate`; the reference
/// side is computed once per run, and its features come from the feature cache when another run
/// (or this one before `--resume`) held out the same images.
final class TrainingScorer {
    let folder: URL
    let referenceCount: Int
    private var reference: MetricSuite.Side?
    private let provider = ExtractorProvider(progress: false, cache: try? FeatureCache())
    /// Distortion classifier trained once from the held-out reference images (hand-made spectral
    /// and pixel features: seconds, not Inception passes); nil when there are too few of them.
    private var distortion: (DistortionClassifier, FeatureProvider)?

    init(folder: URL, referenceCount: Int) { self.folder = folder; self.referenceCount = referenceCount }

    func score(_ request: EvaluationRequest) throws -> [String: Double] {
        let dir = folder.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if reference == nil {
            let url = folder.appendingPathComponent("reference.npz")
            let held = request.data.referenceImages(count: referenceCount)
            try writeADMBatch(held.map(\.image), labels: held.map(\.label), to: url)
            reference = try side(url, cached: true)
            if referenceCount >= DistortionTrainingOptions.minimumReferenceImages {
                let features = HandcraftedFeatures()
                distortion = (try cachedDistortionClassifier(reference: url, features: features,
                                                             options: DistortionTrainingOptions()).0, features)
            } else {
                warn("distortion rate not scored: it needs at least \(DistortionTrainingOptions.minimumReferenceImages) reference images (--reference-count)")
            }
        }
        let url = dir.appendingPathComponent(String(format: "step-%08d.npz", request.step))
        try writeADMBatch(request.samples, labels: request.labels, to: url)
        let fake = try side(url, cached: false)   // each checkpoint's samples are new: not worth an entry
        var settings = MetricSuite.Settings()
        settings.kidSubsetSize = min(settings.kidSubsetSize, request.samples.count, referenceCount)
        settings.isSplits = 1
        let extractor = try provider.get()
        let report = try MetricSuite.evaluate(samples: fake, reference: reference!, fcWeight: extractor.fcWeight,
                                              fcNote: "no 1008-class head in the weights", settings: settings)
        var out: [String: Double] = ["fid": report.fid]
        if let (classifier, features) = distortion {
            var options = DistortionScoringOptions()
            options.bootstrapResamples = 200
            out["distortion_rate"] = try scoreDistortion(samples: InMemoryImageSource(request.samples, name: url.lastPathComponent),
                                                         classifier: classifier, features: features, options: options).score.distortionRate
        }
        for (k, v) in [("sfid", report.sfid), ("is", report.inceptionScore), ("precision", report.precision),
                       ("recall", report.recall), ("density", report.density), ("coverage", report.coverage), ("kid", report.kid)] {
            if let v { out[k] = v }
        }
        return out
    }

    private func side(_ url: URL, cached: Bool) throws -> MetricSuite.Side {
        let input = try EvalInput(url)
        input.usesCache = cached
        let loaded = try input.features(provider)
        let statistics = try StatisticsFile(pool: loaded.poolMoments, spatial: loaded.spatialMoments)
        return MetricSuite.Side(statistics: statistics, features: loaded.pool, description: url.lastPathComponent)
    }
}

/// An ADM sample batch: arr_0 uint8 (N, H, W, 3), arr_1 int64 labels.
func writeADMBatch(_ images: [RGBImage], labels: [Int], to url: URL) throws {
    guard let first = images.first else { throw ValidationError("no images to write to \(url.path)") }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(images.count * first.pixels.count)
    for image in images { bytes += image.pixels }
    try writeNpz([("arr_0", NpyArray(uint8: bytes, shape: [images.count, first.height, first.width, 3])),
                  ("arr_1", NpyArray(int64: labels.map(Int64.init), shape: [labels.count]))], to: url)
}
