import DiMRTrainer
import Foundation

/// Timesteps drawn for training (`train --time-sampling`): uniform, or logit-normal with a mean
/// and standard deviation of the logit.
public enum TimeSamplingChoice: String, CaseIterable, Sendable { case uniform, logitNormal = "logit-normal" }

/// The learning rate after warm-up (`train --lr-decay`): constant, or cosine down to a floor.
public enum LearningRateDecayChoice: String, CaseIterable, Sendable { case constant, cosine }

/// What a training run is asked for: `dimr-eval train`'s options, and each model of the demo.
/// The optional settings are saved with the run. nil takes the recipe's default in a new run;
/// with `resume`, a setting that is given must agree with the saved run (`contradictions`), and
/// the messages name the `train` option each comes from, since that is where a user sets it.
public struct TrainingRequest {
    /// The run folder (checkpoints, metrics.jsonl, train_log.jsonl).
    public var folder: URL
    public var architecture: Architecture
    /// Size preset (tiny, small, …); nil: tiny.
    public var preset: String?
    /// Training images (ADM .npz, .npy or an image folder); nil: the embedded procedural shapes.
    public var data: URL?
    /// Optimisation steps; with `resume`, the new target.
    public var steps: Int
    public var batchSize: Int?
    public var learningRate: Float?
    public var warmup: Int?
    public var emaRate: Float?
    public var schedule: NoiseSchedule.Kind?
    public var prediction: Prediction?
    /// where U-ViT's and DiMR's learned position tables start (nil: the recipe's)
    public var positionInit: PositionInit?
    public var timeSampling: TimeSamplingChoice?
    public var timeMean: Double?
    public var timeStd: Double?
    /// Min-SNR-γ loss weighting with this γ (0: off).
    public var minSNR: Double?
    public var learningRateDecay: LearningRateDecayChoice?
    /// The cosine decay's last learning rate as a fraction of the peak.
    public var learningRateFloor: Float?
    public var evalSampler: SamplerKind?
    /// Checkpoint, sample and score every N steps (0: only at the end).
    public var evalEvery: Int?
    public var evalSamples: Int?
    public var evalSteps: Int?
    public var seed: UInt64?
    /// Held-out images the checkpoints' samples are scored against.
    public var referenceCount = 1000
    /// Whether checkpoints are scored (false: checkpoints and their samples only).
    public var score = true
    /// Continue the run saved in `folder` exactly where it stopped.
    public var resume = false

    public init(folder: URL, architecture: Architecture, steps: Int) {
        self.folder = folder; self.architecture = architecture; self.steps = steps
    }

    /// The training settings of a new run: the recipe's, with what this request sets.
    func newTrainingConfig() -> TrainConfig {
        var config = TrainConfig()
        config.seed = seed ?? config.seed; config.batchSize = batchSize ?? config.batchSize; config.steps = steps
        config.optimizer.learningRate = learningRate ?? config.optimizer.learningRate
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
        if let minSNR { config.lossWeighting = minSNR > 0 ? .minSNR(gamma: minSNR) : .constant }
        switch learningRateDecay {
        case .constant?: config.optimizer.decay = nil
        case .cosine?: config.optimizer.decay = .cosine(steps: steps, floor: learningRateFloor ?? 0.1)
        case nil:
            if case .cosine(_, let floor) = config.optimizer.decay { config.optimizer.decay = .cosine(steps: steps, floor: learningRateFloor ?? floor) }
        }
        return config
    }

    /// The settings of this request that contradict the saved run, as "--option: given X, the
    /// run has Y" (empty when they agree).
    public func contradictions(model saved: ModelConfig, training: TrainConfig) -> [String] {
        var found: [String] = []
        func check<T: Equatable>(_ option: String, _ given: T?, _ savedValue: T) {
            if let given, given != savedValue { found.append("\(option): given \(given), the run has \(savedValue)") }
        }
        check("--arch", architecture.rawValue, saved.architecture.rawValue)
        check("--preset", preset, saved.preset)
        check("--batch-size", batchSize, training.batchSize)
        check("--lr", learningRate, training.optimizer.learningRate)
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
        case .constant: check("--min-snr", minSNR, 0)
        case .minSNR(let gamma): check("--min-snr", minSNR, gamma)
        }
        switch training.optimizer.decay {
        case nil:
            check("--lr-decay", learningRateDecay?.rawValue, LearningRateDecayChoice.constant.rawValue)
            if let learningRateFloor { found.append("--lr-floor: given \(learningRateFloor), the run's learning rate is constant after warm-up (no cosine floor)") }
        case .cosine(_, let floor)?:
            check("--lr-decay", learningRateDecay?.rawValue, LearningRateDecayChoice.cosine.rawValue)
            check("--lr-floor", learningRateFloor, floor)
        }
        return found
    }
}
