import Foundation
import TestSupport
import XCTest
import TensorCore
import DiMRTrainer

/// Determinism guarantees: a resumed run equals an uninterrupted one bit for bit, and sampling
/// is a pure function of (weights, labels, seed, options).
final class TrainingTests: XCTestCase {
    func makeTrainer(_ arch: Architecture, folder: URL, steps: Int) throws -> Trainer {
        let model = try makeModel(ModelTests.smallConfig(arch), seed: 11)
        var config = TrainConfig()
        config.seed = 11; config.batchSize = 4; config.steps = steps; config.evalEvery = 0
        config.optimizer.warmupSteps = 3
        return try Trainer(model: model, data: EmbeddedTrainingData(seed: 11, size: 8), config: config, runFolder: folder)
    }

    /// 6 steps straight vs 3 steps, checkpoint, a fresh process state resumed from it, 3 more:
    /// weights, EMA and optimiser moments identical (exact equality, no tolerance).
    func testResumeIsBitForBit() throws {
        for arch in [Architecture.dimr, .dit] {
            let straightFolder = try temporaryDirectory(self), splitFolder = try temporaryDirectory(self)
            let straight = try makeTrainer(arch, folder: straightFolder, steps: 6)
            for _ in 0..<6 { straight.trainStep() }

            let first = try makeTrainer(arch, folder: splitFolder, steps: 6)
            for _ in 0..<3 { first.trainStep() }
            try first.saveCheckpoint()
            let second = try makeTrainer(arch, folder: splitFolder, steps: 6)
            try second.resume()
            XCTAssertEqual(second.step, 3)
            for _ in 0..<3 { second.trainStep() }

            for p in straight.model.parameters.all {
                let q = second.model.parameters[p.name]!
                XCTAssertEqual(p.value.array, q.value.array, "\(arch.rawValue): \(p.name) differs after resume")
                XCTAssertEqual(straight.ema.weights[p.name]!.array, second.ema.weights[p.name]!.array, "\(arch.rawValue): EMA \(p.name)")
                XCTAssertEqual(straight.optimizer.v[p.name]!.array, second.optimizer.v[p.name]!.array, "\(arch.rawValue): Adam v \(p.name)")
            }
            // and training actually moved the weights (the comparison is not vacuous)
            let fresh = try makeTrainer(arch, folder: straightFolder, steps: 6)
            XCTAssertNotEqual(fresh.model.parameters.all.map { $0.value.array }, straight.model.parameters.all.map { $0.value.array })
        }
    }

    func testSamplersAreDeterministicAndFinite() throws {
        let model = try makeModel(ModelTests.smallConfig(.dimr), seed: 5)
        let schedule = NoiseSchedule(.scaledLinear)
        for kind in SamplerKind.allCases {
            var options = SamplingOptions(sampler: kind, steps: 6, order: 3, guidance: Guidance(scale: 2, cosinePower: 1))
            options.order = kind == .dpmSolver ? 3 : 1
            let a = generateSamples(model: model, schedule: schedule, labels: [0, 1, 2], seed: 9, options: options)
            let b = generateSamples(model: model, schedule: schedule, labels: [0, 1, 2], seed: 9, options: options)
            let c = generateSamples(model: model, schedule: schedule, labels: [0, 1, 2], seed: 10, options: options)
            XCTAssertEqual(a.array, b.array, "\(kind.rawValue): same seed, different samples")
            XCTAssertNotEqual(a.array, c.array, "\(kind.rawValue): the seed has no effect")
            XCTAssertTrue(a.array.allSatisfy(\.isFinite), "\(kind.rawValue): non-finite samples")
            // a sample does not depend on the batch it was drawn in (own noise stream per index)
            let alone = generateSamples(model: model, schedule: schedule, labels: [1], firstIndex: 1, seed: 9, options: options)
            let per = alone.count
            for i in 0..<per { XCTAssertEqual(alone.data[i], a.data[per + i], accuracy: 1e-4) }
        }
    }

    /// The solvers' arithmetic, against the one case with a closed form: data that is a single
    /// image x*. The exact ε-predictor is then ε(x, t) = (x − α_t·x*)/σ_t, and every sampler must
    /// bring pure noise to x* (DDIM and DPM-Solver deterministically; DDPM up to its last noise).
    func testSamplersReachTheDataPointWithTheExactDenoiser() {
        let schedule = NoiseSchedule(.linear)
        let target: Float = 0.4
        let oracle = OracleDenoiser(schedule: schedule) { (x: Float, alpha: Float, sigma: Float) in (x - alpha * target) / sigma }
        for (kind, order, tolerance) in [(SamplerKind.ddim, 1, Float(1e-4)), (.ddpm, 1, 0.05), (.dpmSolver, 2, 0.05), (.dpmSolver, 3, 0.05)] {
            for steps in [10, 25] {
                let options = SamplingOptions(sampler: kind, steps: steps, order: order)
                let x = generateSamples(model: oracle, schedule: schedule, labels: [0, 1], seed: 3, options: options)
                let worst = x.array.map { abs($0 - target) }.max()!
                XCTAssertLessThan(worst, tolerance, "\(kind.rawValue) order \(order), \(steps) steps: max |x − x*| = \(worst)")
            }
        }
    }

    /// A denoiser that is wrong at high noise (ε = 0: "the image is x itself") must not blow up
    /// DPM-Solver: x₀ = x/α there is ~160× the noise, so predictions are clipped to [−1, 1] like
    /// DDIM's. Without the clip this sampler returned saturated noise from undertrained models.
    func testDPMSolverClipsDataPredictions() {
        let schedule = NoiseSchedule(.linear)
        let zero = OracleDenoiser(schedule: schedule) { (_: Float, _: Float, _: Float) in 0 }
        for order in [2, 3] {
            let x = generateSamples(model: zero, schedule: schedule, labels: [0, 1], seed: 3,
                                    options: SamplingOptions(sampler: .dpmSolver, steps: 10, order: order))
            let worst = x.array.map(abs).max()!
            XCTAssertLessThanOrEqual(worst, 1.05, "order \(order): samples reach \(worst)")
            var unclipped = SamplingOptions(sampler: .dpmSolver, steps: 10, order: order)
            unclipped.clipDenoised = false
            let y = generateSamples(model: zero, schedule: schedule, labels: [0, 1], seed: 3, options: unclipped)
            XCTAssertGreaterThan(y.array.map(abs).max()!, 2, "the hazard the clip exists for")
        }
    }

    /// The cosine CFG schedule: no guidance at the noisy end (τ = 999), full scale at τ = 0.
    func testCosineGuidanceSchedule() {
        let g = Guidance(scale: 4, cosinePower: 1)
        XCTAssertEqual(g.scale(atModelTime: 999), 1, accuracy: 1e-3)
        XCTAssertEqual(g.scale(atModelTime: 0), 4, accuracy: 1e-6)
        XCTAssertEqual(g.scale(atModelTime: 500), 2.5, accuracy: 1e-2)
    }

    /// Schedules match their definitions: DDPM's linear β (1e-4 … 0.02) and the scaled-linear
    /// (√β linear from √0.00085 to √0.012); ᾱ_999 from numpy (float64) to 1e-12.
    func testNoiseSchedules() {
        let linear = NoiseSchedule(.linear), scaled = NoiseSchedule(.scaledLinear)
        XCTAssertEqual(linear.betas.first!, 1e-4, accuracy: 1e-15)
        XCTAssertEqual(linear.betas.last!, 0.02, accuracy: 1e-15)
        XCTAssertEqual(scaled.betas.first!, 0.00085, accuracy: 1e-15)
        XCTAssertEqual(scaled.betas.last!, 0.012, accuracy: 1e-15)
        // np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))[-1]
        XCTAssertEqual(linear.alphasCumprod.last!, 4.035829e-05, accuracy: 1e-9)
    }

    func testEmbeddedDataIsDeterministicAndBalanced() {
        let a = EmbeddedShapes(seed: 3), b = EmbeddedShapes(seed: 3)
        XCTAssertEqual(a.image(17).image, b.image(17).image)
        XCTAssertNotEqual(a.image(17).image, a.image(18).image)
        var counts = [Int](repeating: 0, count: 10)
        for i in 0..<1000 { counts[a.label(i)] += 1 }
        XCTAssertTrue(counts.allSatisfy { $0 > 60 }, "class counts \(counts)")
    }
}

/// ε from a closed-form rule of (x, α_t, σ_t), per pixel; no parameters.
final class OracleDenoiser: DenoisingModel {
    let config: ModelConfig
    let parameters = ParameterStore(seed: 0)
    let schedule: NoiseSchedule
    let rule: (Float, Float, Float) -> Float

    init(schedule: NoiseSchedule, rule: @escaping (Float, Float, Float) -> Float) {
        config = ModelTests.smallConfig(.dit)
        self.schedule = schedule; self.rule = rule
    }

    func predict(_ x: Variable, times: [Float], labels: [Int], tape: Tape) -> [Variable] {
        let out = Tensor(uninitialized: x.value.shape)
        let per = x.value.count / times.count
        for (b, tau) in times.enumerated() {
            // model time τ ↔ continuous t = (τ + 1)/N (NoiseSchedule.modelTime)
            let t = (Double(tau) + 1) / Double(schedule.steps)
            let alpha = Float(Foundation.exp(schedule.logAlpha(t))), sigma = Float(schedule.sigma(t))
            for i in b * per..<(b + 1) * per { out.data[i] = rule(x.value.data[i], alpha, sigma) }
        }
        return [Variable(out)]
    }
}

/// The data-parallel step (one shard of the batch per core, each on its own model replica)
/// computes the gradient of the whole batch's loss.
final class ShardedGradientTests: XCTestCase {
    func testTwoShardsGiveTheGradientsOfOne() throws {
        for arch in Architecture.allCases {
            for prediction in Prediction.allCases {
                var modelConfig = ModelTests.smallConfig(arch)
                modelConfig.prediction = prediction
                var config = TrainConfig()
                config.seed = 3; config.batchSize = 5; config.evalEvery = 0
                config.lossWeighting = .minSNR(gamma: 5); config.timeSampling = .logitNormal(mean: 0, std: 1)
                let folder = try temporaryDirectory(self).appendingPathComponent("run")
                let trainer = try Trainer(model: try makeModel(modelConfig, seed: 3), data: EmbeddedTrainingData(seed: 3, size: 8),
                                          config: config, runFolder: folder)
                let batch = trainer.nextBatch()
                let (oneLoss, _) = trainer.computeGradients(batch, shards: 1)
                let one = trainer.model.parameters.all.map { $0.variable.grad?.array ?? [] }
                let (twoLoss, _) = trainer.computeGradients(batch, shards: 2)
                XCTAssertEqual(oneLoss, twoLoss, accuracy: 1e-5 * max(1, abs(oneLoss)), "\(arch) \(prediction): loss")
                for (p, g1) in zip(trainer.model.parameters.all, one) {
                    let g2 = p.variable.grad?.array ?? []
                    XCTAssertEqual(g1.count, g2.count, "\(arch) \(prediction): \(p.name) gradient missing on one side")
                    let scale = max(g1.map { abs($0) }.max() ?? 0, 1e-6)
                    for (a, b) in zip(g1, g2) {
                        XCTAssertEqual(a, b, accuracy: 1e-4 * scale, "\(arch) \(prediction): \(p.name)")
                    }
                }
            }
        }
    }
}
