import ArgumentParser
import DiMRTrainer
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// `dimr-eval train`: trains a DiMR, DiT or U-ViT preset on the embedded shapes or on user images,
/// checkpointing into --out and, every --eval-every steps, scoring samples (FID, precision/recall,
/// IS when the weights have a classifier) against the data into DIR/metrics.jsonl.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train DiMR, DiT or U-ViT (checkpoints, loss log and FID/precision/recall while training).")

    @Option(help: "Architecture: dimr, dit or uvit.") var arch: String = "dimr"
    @Option(help: "Model size preset (tiny, small, …).") var preset: String = "tiny"
    @Option(help: "Training images: an ADM .npz/.npy batch or an image folder (default: the embedded shapes).") var data: String?
    @Option(help: "Train until this many optimisation steps.") var steps: Int = TrainConfig().steps
    @Option(help: "Images per step.") var batchSize: Int = TrainConfig().batchSize
    @Option(help: "Run folder (checkpoints, metrics.jsonl).") var out: String
    @Option(help: "Checkpoint and score every N steps (0: checkpoint only at the end, no scoring).") var evalEvery: Int = TrainConfig().evalEvery
    @Option(help: "Samples drawn for each evaluation.") var evalSamples: Int = TrainConfig().evalSamples
    @Option(help: "Reference images (from the data) the samples are scored against.") var referenceCount: Int = 1000
    @Option(help: "Inception weights for scoring (default: the usual search, see `dimr-eval weights`).") var weights: String?
    @Option(help: "Log every N steps.") var logEvery: Int = 10
    @Flag(help: "Continue from --out's latest checkpoint.") var resume = false
    @Option(help: "Seed (model init, data order, noise).") var seed: UInt64 = 0
    @Flag(help: "JSON lines on stdout (one per log step and per evaluation, then a summary).") var json = false

    func validate() throws {
        guard Architecture(rawValue: arch) != nil else {
            throw ValidationError("--arch: expected one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")), found '\(arch)'")
        }
        if steps < 1 { throw ValidationError("--steps must be ≥ 1, found \(steps)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1, found \(batchSize)") }
        if evalEvery < 0 || evalSamples < 0 { throw ValidationError("--eval-every and --eval-samples must be ≥ 0") }
        if logEvery < 1 { throw ValidationError("--log-every must be ≥ 1") }
        if evalEvery > 0 && evalSamples > 0 && evalSamples < 2 { throw ValidationError("--eval-samples must be ≥ 2 (a covariance needs 2 images) or 0") }
    }

    func run() throws {
        let runFolder = URL(fileURLWithPath: out)
        let trainingData: TrainingData = try data.map { try ImageSourceTrainingData(url: URL(fileURLWithPath: $0), seed: seed) }
            ?? EmbeddedTrainingData(seed: seed)
        let latest = runFolder.appendingPathComponent("latest.json")
        let hasCheckpoint = FileManager.default.fileExists(atPath: latest.path)

        // Model and training settings: new, or the checkpoint's (a resumed run keeps its settings;
        // only the step target, the evaluation schedule and the log change).
        var modelSettings: ModelConfig, config: TrainConfig
        if resume {
            guard hasCheckpoint else {
                throw ValidationError("--resume: \(latest.path) does not exist (no run to continue in --out)")
            }
            let (state, _) = try Checkpoint.loadState(runFolder)
            modelSettings = state.model
            config = state.training
            if state.model.architecture.rawValue != arch || state.model.preset != preset {
                warn("--resume: the checkpoint is \(state.model.architecture.rawValue) \(state.model.preset); continuing it (--arch \(arch) --preset \(preset) ignored)")
            }
            if state.step >= steps {
                let message = "\(runFolder.path) is already at step \(state.step) (--steps \(steps)); nothing to do"
                if json { print(try jsonLine(["event": .string("done"), "step": .number(Double(state.step)), "message": .string(message)])) }
                else { warn(message) }
                return
            }
        } else {
            if hasCheckpoint {
                throw ValidationError("\(runFolder.path) already holds a run (latest.json); pass --resume to continue it or choose another --out")
            }
            guard let a = Architecture(rawValue: arch) else { throw ValidationError("--arch: unknown '\(arch)'") }
            modelSettings = try modelConfig(a, preset: preset, imageSize: trainingData.imageSize, numClasses: trainingData.numClasses)
            config = TrainConfig()
            config.seed = seed
            config.batchSize = batchSize
        }
        config.steps = steps
        config.evalEvery = evalEvery
        config.evalSamples = evalSamples

        // Scoring needs the Inception weights: fail now, not after an hour of training.
        let scorer = evalEvery > 0 && evalSamples > 0
            ? try TrainingScorer(weights: weights.map { URL(fileURLWithPath: $0) }, referenceCount: referenceCount, verbose: !json)
            : nil

        try FileManager.default.createDirectory(at: runFolder, withIntermediateDirectories: true)
        let model = try makeModel(modelSettings, seed: config.seed)
        let trainer = try Trainer(model: model, data: trainingData, config: config, runFolder: runFolder)
        if resume { try trainer.resume() }

        let header = "\(modelSettings.architecture.rawValue) \(modelSettings.preset): \(model.parameters.count) parameters; data: \(trainingData.description); batch \(config.batchSize); step \(trainer.step) → \(config.steps)"
        if json {
            print(try jsonLine(["event": .string("start"), "architecture": .string(modelSettings.architecture.rawValue),
                                "preset": .string(modelSettings.preset), "parameters": .number(Double(model.parameters.count)),
                                "data": .string(trainingData.description), "batch_size": .number(Double(config.batchSize)),
                                "step": .number(Double(trainer.step)), "steps": .number(Double(config.steps))]))
        } else {
            warn(header)
        }

        let tty = isatty(STDERR_FILENO) != 0
        var lastLog: StepLog?
        try trainer.run(logEvery: logEvery, log: { entry in
            lastLog = entry
            let eta = Double(config.steps - entry.step) / max(entry.stepsPerSecond, 1e-9)
            let text = String(format: "step %d/%d  loss %.4f  %.2f step/s  %.1f img/s  ETA %@",
                              entry.step, config.steps, entry.loss, entry.stepsPerSecond, entry.imagesPerSecond, formatDuration(eta))
            if json {
                var line: [String: JSONValue] = ["event": .string("step"), "step": .number(Double(entry.step)),
                                                 "loss": .number(Double(entry.loss)), "gradient_norm": .number(Double(entry.gradientNorm)),
                                                 "learning_rate": .number(Double(entry.learningRate)),
                                                 "steps_per_second": .number(entry.stepsPerSecond),
                                                 "images_per_second": .number(entry.imagesPerSecond),
                                                 "elapsed_seconds": .number(entry.elapsedSeconds)]
                if entry.lossTerms.count > 1 { line["loss_terms"] = .string(entry.lossTerms.map { String(format: "%.5f", $0) }.joined(separator: ",")) }
                if let s = try? jsonLine(line) { print(s) }
                fflush(stdout)
            } else if tty {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
            } else {
                warn(text)
            }
        }, evaluationLog: { record in
            if json {
                var r = record; r["event"] = .string("evaluation")
                if let s = try? jsonLine(r) { print(s) }
                fflush(stdout)
            } else {
                if tty { FileHandle.standardError.write(Data("\n".utf8)) }
                let scores = ["fid", "precision", "recall", "is"].compactMap { k -> String? in
                    if case .number(let v)? = record[k] { return String(format: "%@ %.3f", k, v) }
                    return nil
                }
                let step: Int = { if case .number(let v)? = record["step"] { return Int(v) } else { return trainer.step } }()
                warn("step \(step): checkpoint saved" + (scores.isEmpty ? "" : "; " + scores.joined(separator: "  ")))
            }
        }, evaluate: scorer.map { s in { request in try s.score(request) } })
        if tty && !json { FileHandle.standardError.write(Data("\n".utf8)) }

        if json {
            var done: [String: JSONValue] = ["event": .string("done"), "step": .number(Double(trainer.step)),
                                             "run_folder": .string(runFolder.path)]
            if let l = lastLog { done["loss"] = .number(Double(l.loss)); done["elapsed_seconds"] = .number(l.elapsedSeconds) }
            print(try jsonLine(done))
        } else {
            warn("done: step \(trainer.step); checkpoints and metrics.jsonl in \(runFolder.path)")
        }
    }
}

/// Scores a checkpoint's samples against the training data's reference images: FID (pool3),
/// precision/recall (ADM's k = 3 manifold estimator) and, when the weights carry the classifier,
/// the Inception Score. The reference side's features are computed once per run, on first use.
final class TrainingScorer {
    let extractor: FeatureExtractor
    let referenceCount: Int
    let verbose: Bool
    private var reference: (pool: Tensor, statistics: GaussianStatistics)?

    init(weights: URL?, referenceCount: Int, verbose: Bool) throws {
        extractor = try FeatureExtractor(weights: weights, resize: .adm, batchSize: 16)
        self.referenceCount = referenceCount
        self.verbose = verbose
    }

    /// pool features (N, 2048) of images and their Gaussian fit
    func poolFeatures(_ images: [RGBImage], label: String) throws -> (pool: Tensor, statistics: GaussianStatistics) {
        let meter = Progress(total: images.count, label: label)
        var pool = [Float]()
        pool.reserveCapacity(images.count * FeatureExtractor.poolDimension)
        for start in stride(from: 0, to: images.count, by: 64) {
            let part = Array(images[start..<min(images.count, start + 64)])
            pool += try extractor.features(of: part).pool
            meter.advance(by: part.count)
        }
        meter.finish()
        let tensor = Tensor(shape: [images.count, FeatureExtractor.poolDimension], values: pool)
        var moments = FeatureMoments(dimension: FeatureExtractor.poolDimension)
        moments.add(tensor.data, rows: images.count)
        return (tensor, try moments.gaussian())
    }

    func score(_ request: EvaluationRequest) throws -> [String: Double] {
        if reference == nil {
            let images = request.data.referenceImages(count: referenceCount).map(\.image)
            guard images.count >= 2 else {
                throw ValidationError("scoring needs at least 2 reference images from the data, found \(images.count)")
            }
            if verbose { warn("reference features: \(images.count) images of the data (once per run)") }
            reference = try poolFeatures(images, label: "reference features")
        }
        let ref = reference!
        let fake = try poolFeatures(request.samples, label: "sample features")
        var scores: [String: Double] = [:]
        scores["fid"] = try frechetDistance(fake.statistics, ref.statistics)
        let manifold = try ManifoldEstimator(k: 3, densityK: nil).evaluate(reference: ref.pool, samples: fake.pool)
        scores["precision"] = manifold.precision
        scores["recall"] = manifold.recall
        if let fc = extractor.fcWeight {
            scores["is"] = try InceptionScore.compute(pool: fake.pool, classifier: fc).mean
        }
        scores["reference_images"] = Double(ref.pool.shape[0])
        return scores
    }
}

func jsonLine(_ record: [String: JSONValue]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(record), as: UTF8.self)
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s / 60 % 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}
