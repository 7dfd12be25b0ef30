import XCTest
import TensorCore
import DiMRTrainer

/// Whole-model checks on very small configurations: the backward of the complete network agrees
/// with finite differences for a sample of parameters, and the parameter-count claims of the papers hold.
final class ModelTests: XCTestCase {
    static func smallConfig(_ arch: Architecture) -> ModelConfig {
        var c = try! modelConfig(arch, preset: "tiny", imageSize: 8, channels: 3, numClasses: 10)
        c.dimr?.branches = [DiMRConfig.presets["tiny"]!.branches[0], DiMRConfig.presets["tiny"]!.branches[1]]
        c.dimr?.branches[0].dim = 8; c.dimr?.branches[0].hiddenDim = 16; c.dimr?.branches[0].heads = 2
        c.dimr?.branches[0].blocks = 2; c.dimr?.branches[0].patch = 4
        c.dimr?.branches[1].dim = 4; c.dimr?.branches[1].hiddenDim = 8; c.dimr?.branches[1].blocks = 2
        c.dit?.dim = 8; c.dit?.heads = 2; c.dit?.depth = 2; c.dit?.patch = 2
        c.uvit?.dim = 8; c.uvit?.heads = 2; c.uvit?.depth = 3; c.uvit?.patch = 2
        return c
    }

    func checkModel(_ arch: Architecture) throws {
        let model = try makeModel(Self.smallConfig(arch), seed: 3)
        // DiT starts with zeroed adaLN and output layers, and TD-LN with γ₀ = γ₁ (so w and b get
        // no gradient): perturb every parameter so each path carries signal — the time-dependent
        // vectors strongly, or their gradients drown in float32 rounding of the finite differences.
        var rng = SplitMix64(seed: 99)
        for p in model.parameters.all {
            let std: Float = p.name.contains("param") || p.name.contains("nodecay") ? 0.5 : 0.05
            for i in 0..<p.count { p.value.data[i] += std * rng.normal() }
        }
        let x = randomVariable([2, 3, 8, 8], seed: 5)
        let params = model.parameters.all.map(\.variable)
        checkGradients("\(arch.rawValue) model", inputs: params + [x], probes: 4, step: 3e-3, tolerance: 5e-2) { tape in
            let outs = model.predict(x, times: [10, 700], labels: [1, 3], tape: tape)
            return outs.count == 1 ? outs[0] : tape.concat(outs.map { tape.reshape($0, [$0.value.count]) }, axis: 0)
        }
    }

    func testDiMRGradients() throws { try checkModel(.dimr) }
    func testDiTGradients() throws { try checkModel(.dit) }
    func testUViTGradients() throws { try checkModel(.uvit) }

    /// The recipe's sin-cos start of the learned position tables: U-ViT's patch rows and each DiMR
    /// branch's table are DiT's 2-D sin-cos table of that grid, U-ViT's time and class rows zero;
    /// the papers' start (and a checkpoint's config without the field) stays N(0, 0.02).
    func testPositionTableStarts() throws {
        for arch in [Architecture.uvit, .dimr] {
            var config = try modelConfig(arch, preset: "tiny")
            config.positionInit = .sinCos
            let model = try makeModel(config, seed: 1)
            let tables = arch == .uvit ? [("pos_embed", 2, 8, 128)]
                : config.dimr!.branches.enumerated().map { ("stages.\($0.offset).position_embeddings", 0, 32 / $0.element.patch, $0.element.dim) }
            for (name, extra, grid, dim) in tables {
                let values = try XCTUnwrap(model.parameters[name], name).value.array
                XCTAssertEqual(values.count, (extra + grid * grid) * dim, name)
                XCTAssertEqual(Array(values[0..<(extra * dim)]), [Float](repeating: 0, count: extra * dim), name)
                XCTAssertEqual(Array(values[(extra * dim)...]), sinusoidalPositions2D(dim: dim, height: grid, width: grid).array, name)
            }
            config.positionInit = nil
            let papers = try XCTUnwrap(try makeModel(config, seed: 1).parameters[tables[0].0]).value.array
            let std = (papers.map { $0 * $0 }.reduce(0, +) / Float(papers.count)).squareRoot()
            XCTAssertEqual(std, 0.02 * 0.88, accuracy: 0.002, "\(arch): truncated N(0, 0.02) has std ≈ 0.0176")
        }
        let old = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(try modelConfig(.uvit, preset: "tiny")))
        XCTAssertNil(old.positionInit)
    }

    func testPredictionShapes() throws {
        for (arch, preset) in [(Architecture.dimr, "tiny"), (.dimr, "tiny-3R"), (.dit, "tiny"), (.uvit, "tiny")] {
            let model = try makeModel(try modelConfig(arch, preset: preset), seed: 1)
            let outs = model.predict(randomVariable([2, 3, 32, 32], seed: 1, requiresGrad: false), times: [0, 999], labels: [0, 10],
                                     tape: Tape(recording: false))
            let sizes = outs.map { $0.shape }
            switch (arch, preset) {
            case (.dimr, "tiny"): XCTAssertEqual(sizes, [[2, 3, 8, 8], [2, 3, 32, 32]])
            case (.dimr, _): XCTAssertEqual(sizes, [[2, 3, 8, 8], [2, 3, 16, 16], [2, 3, 32, 32]])
            default: XCTAssertEqual(sizes, [[2, 3, 32, 32]])
            }
        }
    }

    /// DiMR's TD-LN vs DiT's adaLN-Zero: a time-dependent norm costs 4 numbers per channel per
    /// time-dependent vector (γ₀, γ₁, w, b) — 4C for the TD-RMSNorm the blocks use, 8C for the
    /// TD-LN with a shift — while each adaLN-Zero block carries a D×6D linear (+6D bias).
    func testTimeConditioningParameterCounts() throws {
        let c = 64
        let store = ParameterStore(seed: 0)
        _ = TimeDependentRMSNorm(store, "rms", c)
        XCTAssertEqual(store.count, 4 * c)
        let store2 = ParameterStore(seed: 0)
        _ = TimeDependentLayerNorm(store2, "ln", c)
        XCTAssertEqual(store2.count, 8 * c)

        var config = try modelConfig(.dit, preset: "tiny")
        config.dit!.depth = 1
        let dit = try makeModel(config, seed: 0)
        let d = config.dit!.dim
        let ada = dit.parameters.all.filter { $0.name.hasPrefix("blocks.0.adaLN_modulation") }.map(\.count).reduce(0, +)
        XCTAssertEqual(ada, d * 6 * d + 6 * d)
    }

    func testPresetParameterCounts() throws {
        // Printed for the README; the checks only guard against silent architecture changes.
        for (arch, preset) in [(Architecture.dimr, "tiny"), (.dimr, "tiny-3R"), (.dit, "tiny"), (.uvit, "tiny")] {
            let m = try makeModel(try modelConfig(arch, preset: preset), seed: 0)
            print("\(arch.rawValue) \(preset): \(m.parameters.count) parameters")
            XCTAssertGreaterThan(m.parameters.count, 100_000)
            XCTAssertLessThan(m.parameters.count, 3_000_000)
        }
    }
}
