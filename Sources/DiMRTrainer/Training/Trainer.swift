import Foundation
import TensorCore
import TensorIO

/// How to train (saved with every checkpoint; a resumed run must use the same).
public struct TrainConfig: Codable, Equatable, Sendable {
    public var seed: UInt64 = 0
    public var batchSize = 32
    public var steps = 2000
    public var optimizer = OptimizerConfig()
    public var emaRate: Float = 0.999
    /// probability of replacing a label by "no class" (classifier-free guidance training)
    public var labelDropout: Float = 0.1
    public var schedule: NoiseSchedule.Kind = .linear
    /// which timesteps training looks at (nil in runs made before it existed: uniform)
    public var timeSampling: TimeSampling? = nil
    /// extra per-image loss weight (nil: none)
    public var lossWeighting: LossWeighting? = nil
    /// write a checkpoint, sample and score every this many steps (0: only at the end)
    public var evalEvery = 500
    /// samples drawn for each evaluation
    public var evalSamples = 256
    /// Stochastic DDPM with 100 steps: on x₀-trained tiny models it scores far better than the
    /// deterministic solvers at the same checkpoint (DiT at 7,500 steps: FID 165.5 / label
    /// accuracy 0.73, against 202.5 / 0.65 with DPM-Solver++ 25 steps; fixtures/trainer/RUNLOG.md).
    public var evalSampling = SamplingOptions(sampler: .ddpm, steps: 100, order: 2)
    public var keepCheckpoints = 3

    /// The network's target in new runs (stored in ModelConfig.prediction, which the samplers read).
    /// x₀: ahead of ε at every budget measured on the tiny DiT (fixtures/trainer/RUNLOG.md, "Recipe search").
    public static let recipePrediction: Prediction = .data
    /// The papers' start in new runs: the sin-cos start helps U-ViT memorise 32 images but moved
    /// neither U-ViT's nor DiMR's KID or label accuracy on fresh data (RUNLOG, 2026-12-03).
    public static let recipePositionInit: PositionInit = .normal

    public init() {}
}

/// One line of the training log.
public struct StepLog: Codable, Sendable {
    public var step: Int
    public var loss: Float
    /// each prediction's MSE (coarsest first), before the loss weights
    public var lossTerms: [Float]
    public var gradientNorm: Float
    public var learningRate: Float
    public var stepsPerSecond: Double
    public var imagesPerSecond: Double
    public var elapsedSeconds: Double
}

/// What the evaluation hook receives: the samples of one checkpoint.
public struct EvaluationRequest {
    public var step: Int
    public var samples: [RGBImage]
    public var labels: [Int]
    public var data: TrainingData
    public var runFolder: URL
}

/// Scores a checkpoint's samples (FID, IS, precision/recall, …). The trainer does not know how:
/// the CLI supplies this, so DiMRTrainer never depends on the metrics code.
public typealias EvaluationHook = (EvaluationRequest) throws -> [String: Double]

/// A training batch after noising (`Trainer.nextBatch`): x_t, x₀, ε, the target of the loss, and
/// per image its label (after dropout), timestep, α, σ and extra loss weight.
public struct NoisedBatch {
    public let noisy: Tensor, data: Tensor, noise: Tensor, target: Tensor
    public let labels: [Int], steps: [Int]
    public let alphas: [Float], sigmas: [Float]
    public let sampleWeights: [Float]?
}

/// The training loop: data → noising → model → (multi-scale) ε loss → backward → clip → AdamW →
/// EMA; checkpoints, samples and scores on a schedule.
public final class Trainer {
    public let model: DenoisingModel
    public let data: TrainingData
    public let config: TrainConfig
    public let schedule: NoiseSchedule
    public let runFolder: URL
    public let optimizer: AdamW
    public let ema: ExponentialMovingAverage
    public private(set) var step = 0
    public private(set) var dataPosition = 0
    private var rng: SplitMix64
    /// The model, then its replicas (`makeReplica`), one per shard of a batch; made when first needed.
    private lazy var replicas: [DenoisingModel] = [model]

    public init(model: DenoisingModel, data: TrainingData, config: TrainConfig, runFolder: URL) throws {
        guard data.imageSize == model.config.imageSize, data.numClasses <= model.config.numClasses else {
            throw ModelError.badConfig("data (\(data.imageSize)×\(data.imageSize), \(data.numClasses) classes) does not fit the model (\(model.config.imageSize)×\(model.config.imageSize), \(model.config.numClasses) classes)")
        }
        self.model = model
        self.data = data
        self.config = config
        self.schedule = NoiseSchedule(config.schedule)
        self.runFolder = runFolder
        optimizer = AdamW(config.optimizer, parameters: model.parameters)
        ema = ExponentialMovingAverage(rate: config.emaRate, parameters: model.parameters)
        rng = SplitMix64(seed: config.seed, stream: "training")
    }

    /// Continues from the run folder's latest checkpoint (model, EMA, optimiser moments, step,
    /// data position, RNG), so the run proceeds exactly as if it had never stopped.
    public func resume() throws {
        let (state, folder) = try Checkpoint.loadState(runFolder)
        guard state.model == model.config else {
            throw CheckpointError(file: folder.appendingPathComponent("latest.json").path, field: "model",
                                  expected: "the same model as this run (\(model.config.architecture.rawValue) \(model.config.preset))",
                                  found: "\(state.model.architecture.rawValue) \(state.model.preset) with other settings")
        }
        let url = folder.appendingPathComponent(state.weights)
        let tensors = try readSafetensors(url)
        try model.parameters.load(tensors, prefix: "model.", source: url.path)
        try ema.load(tensors, source: url.path)
        try optimizer.load(tensors, step: state.optimizerStep, source: url.path)
        step = state.step
        dataPosition = state.dataPosition
        rng = state.rng
    }

    /// One optimisation step on the next batch. Returns the loss and its terms.
    @discardableResult
    public func trainStep() -> (loss: Float, terms: [Float], gradientNorm: Float) {
        let batch = nextBatch()
        let (loss, raw) = computeGradients(batch, shards: coresForWorkers)
        let norm = optimizer.update(model.parameters)
        step += 1
        ema.update(model.parameters, step: step)
        return (loss, raw, norm)
    }

    /// The next batch, noised: images at their timesteps, with the targets of the loss.
    /// Randomness is always drawn in this order: label dropout, timesteps, noise.
    public func nextBatch() -> NoisedBatch {
        let b = config.batchSize, c = model.config
        var (x, labels) = data.batch(at: dataPosition, count: b)
        dataPosition += b
        labels = labels.map { rng.uniform() < Double(config.labelDropout) ? c.numClasses : $0 }
        let sampling = config.timeSampling ?? .uniform
        let steps = (0..<b).map { _ in sampling.draw(&rng, steps: schedule.steps) }
        let noise = Tensor(uninitialized: x.shape)
        rng.fillNormal(noise.data, count: noise.count)
        let per = x.count / b
        let alphas = steps.map { Float(schedule.alphasCumprod[$0].squareRoot()) }
        let sigmas = steps.map { Float((1 - schedule.alphasCumprod[$0]).squareRoot()) }
        let prediction = c.target
        // The full-resolution target, before x becomes x_t in place.
        let target = Tensor(uninitialized: x.shape)
        for i in 0..<b {
            prediction.target(data: x.data + i * per, noise: noise.data + i * per, alpha: alphas[i], sigma: sigmas[i],
                              count: per, into: target.data + i * per)
        }
        let x0 = prediction == .epsilon ? x : x.copy()
        for i in 0..<b { schedule.addNoise(x.data + i * per, noise: noise.data + i * per, count: per, step: steps[i]) }
        let weighting = config.lossWeighting ?? .constant
        let weights = weighting == .constant ? nil
            : steps.map { Float(weighting.factor(snr: schedule.signalToNoise($0), prediction: prediction)) }
        return NoisedBatch(noisy: x, data: x0, noise: noise, target: target, labels: labels, steps: steps,
                           alphas: alphas, sigmas: sigmas, sampleWeights: weights)
    }

    /// Forward and backward of the batch's loss, leaving its gradients on the model's parameters;
    /// → the loss and its terms (each prediction's MSE before the loss weights).
    ///
    /// The batch is cut into `shards` contiguous pieces, each run by its own replica of the model
    /// (shared weights, own gradients) on a core of its own (`onEachCore`). Each shard's loss is
    /// scaled by its share of the batch, so the summed gradients are those of the whole batch's
    /// mean loss (up to float summation order; `TrainingTests` checks 1 shard against 2).
    public func computeGradients(_ batch: NoisedBatch, shards requested: Int) -> (loss: Float, terms: [Float]) {
        let c = model.config, b = batch.labels.count, prediction = c.target
        let shards = max(1, min(requested, b))
        while replicas.count < shards { replicas.append(makeReplica(of: model)) }
        var shardTerms = [[Float]](repeating: [], count: shards)
        onEachCore(shards) { r in
            let range = (b * r / shards)..<(b * (r + 1) / shards)
            let share = Float(range.count) / Float(b)
            let replica = replicas[r]
            let tape = Tape()
            let outputs = replica.predict(Variable(batch.noisy.rows(range)), times: range.map { Float(batch.steps[$0]) },
                                          labels: Array(batch.labels[range]), tape: tape)
            var terms: [Variable] = [], raw: [Float] = []
            for (output, weight) in zip(outputs, c.lossWeights) {
                let size = output.shape[3]
                let t = size == batch.target.shape[3] ? batch.target.rows(range)
                    : multiScaleTarget(data: batch.data.rows(range), noise: batch.noise.rows(range), alphas: Array(batch.alphas[range]),
                                       sigmas: Array(batch.sigmas[range]), size: size, prediction: prediction)
                let term = tape.mse(output, target: t, weight: weight * share, sampleWeights: batch.sampleWeights.map { Array($0[range]) })
                terms.append(term)
                raw.append(term.value.data[0] / weight)
            }
            replica.parameters.zeroGrads()
            tape.backward(from: terms.count == 1 ? terms[0] : tape.sum(terms))
            shardTerms[r] = raw
        }
        // Σ of the shards' gradients into the model's own (replica 0 is the model), in shard order.
        for r in 1..<shards {
            for (p, q) in zip(model.parameters.all, replicas[r].parameters.all) {
                if let g = q.variable.grad { p.variable.accumulate(g, shared: true) }
            }
        }
        let raw = (0..<c.lossWeights.count).map { k in shardTerms.reduce(Float(0)) { $0 + $1[k] } }
        return (zip(raw, c.lossWeights).reduce(Float(0)) { $0 + $1.0 * $1.1 }, raw)
    }

    /// Trains to `config.steps`, logging every `logEvery` steps and checkpointing/evaluating on schedule.
    public func run(logEvery: Int = 10, log: (StepLog) -> Void, evaluationLog: ([String: JSONValue]) -> Void = { _ in },
                    evaluate: EvaluationHook?) throws {
        let start = Date()
        var windowStart = Date(), windowSteps = 0
        var lossSum: Double = 0, lossCount = 0
        while step < config.steps {
            let (loss, terms, norm) = trainStep()
            windowSteps += 1
            lossSum += Double(loss); lossCount += 1
            if step % logEvery == 0 || step == config.steps {
                let dt = Date().timeIntervalSince(windowStart)
                log(StepLog(step: step, loss: loss, lossTerms: terms, gradientNorm: norm,
                            learningRate: config.optimizer.learningRate(atStep: step - 1),
                            stepsPerSecond: Double(windowSteps) / max(dt, 1e-9),
                            imagesPerSecond: Double(windowSteps * config.batchSize) / max(dt, 1e-9),
                            elapsedSeconds: Date().timeIntervalSince(start)))
                windowStart = Date(); windowSteps = 0
            }
            let due = config.evalEvery > 0 ? step % config.evalEvery == 0 : false
            if due || step == config.steps {
                let meanLoss = Float(lossSum / Double(max(lossCount, 1)))
                lossSum = 0; lossCount = 0
                try saveCheckpoint(lastLoss: meanLoss)
                var record: [String: JSONValue] = [
                    "step": .number(Double(step)), "train_loss": .number(Double(meanLoss)),
                    "elapsed_seconds": .number(Date().timeIntervalSince(start)),
                    "checkpoint": .string(Checkpoint.fileName(step: step)),
                ]
                if let evaluate, config.evalSamples > 0 {
                    let t0 = Date()
                    let (images, labels) = sampleForEvaluation()
                    record["sample_seconds"] = .number(Date().timeIntervalSince(t0))
                    record["samples"] = .number(Double(images.count))
                    record["sampler"] = .string("\(config.evalSampling.sampler.rawValue) \(config.evalSampling.steps) steps, cfg \(config.evalSampling.guidance.scale)")
                    let t1 = Date()
                    for (k, v) in try evaluate(EvaluationRequest(step: step, samples: images, labels: labels, data: data, runFolder: runFolder)) {
                        record[k] = .number(v)
                    }
                    record["score_seconds"] = .number(Date().timeIntervalSince(t1))
                } else {
                    record["scores"] = .string("not computed (no evaluation hook)")
                }
                try appendJSONLine(record, to: runFolder.appendingPathComponent("metrics.jsonl"))
                evaluationLog(record)
                windowStart = Date()   // keep sampling time out of the step rate
            }
        }
    }

    public func saveCheckpoint(lastLoss: Float? = nil) throws {
        let state = CheckpointState(model: model.config, training: config, step: step, dataPosition: dataPosition, rng: rng,
                                    optimizerStep: optimizer.step, weights: Checkpoint.fileName(step: step),
                                    parameterCount: model.parameters.count, lastLoss: lastLoss)
        try Checkpoint.save(state, model: model, ema: ema, optimizer: optimizer, to: runFolder, keep: config.keepCheckpoints)
    }

    /// `evalSamples` images from the EMA weights, labels cycling through the classes, seeded by
    /// the run's seed (the same noise at every checkpoint, so checkpoints compare fairly).
    public func sampleForEvaluation() -> ([RGBImage], [Int]) {
        let saved = model.parameters.snapshot()
        for p in model.parameters.all { p.value.data.update(from: ema.weights[p.name]!.data, count: p.count) }
        defer { for p in model.parameters.all { p.value.data.update(from: saved[p.name]!.data, count: p.count) } }
        let n = config.evalSamples, classes = data.numClasses
        let labels = (0..<n).map { $0 % classes }
        var images: [RGBImage] = []
        let batch = 64
        for start in stride(from: 0, to: n, by: batch) {
            let l = Array(labels[start..<min(n, start + batch)])
            let x = generateSamples(model: model, schedule: schedule, labels: l, firstIndex: start, seed: config.seed ^ 0xE7A1,
                                    options: config.evalSampling)
            images += toImages(x)
        }
        return (images, labels)
    }
}

/// (B, 3, H, W) in [−1, 1] → 8-bit images, as ADM/DiT's sample scripts convert
/// (((x + 1)·127.5) clamped to [0, 255] and truncated).
public func toImages(_ x: Tensor) -> [RGBImage] {
    let b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    precondition(c == 3, "toImages: expected 3 channels, got \(x.shape)")
    return (0..<b).map { i in
        var pixels = [UInt8](repeating: 0, count: h * w * 3)
        let src = x.data + i * 3 * h * w
        for ch in 0..<3 {
            for p in 0..<(h * w) { pixels[p * 3 + ch] = UInt8(max(0, min(255, (src[ch * h * w + p] + 1) * 127.5))) }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
