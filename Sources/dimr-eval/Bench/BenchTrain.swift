import ArgumentParser
import DiMRTrainer
import Foundation
import TensorCore
import TensorIO

/// `dimr-eval bench train`: one training step (forward, loss, backward, clipping, AdamW, EMA) of
/// each tiny model (DiT, U-ViT, DiMR; batch 32) here and in eager PyTorch
/// (scripts/bench/train_step_torch.py: the same architectures written for torch, with the same
/// parameter counts) on the same number of threads, in one run, as speed
/// ratios. `--torch-compile` adds torch.compile's figure beside eager's. With `--rounds N` the two
/// sides alternate N times per architecture and each side's figure is the median over rounds:
/// this host's speed drifts by ±25% within minutes, and a single pair can land on either side of it.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Training step time vs. the same models in PyTorch.")

    @Option(parsing: .upToNextOption, help: "Architectures to time (dit, uvit, dimr). Default: all three.")
    var arch: [Architecture] = [.dit, .uvit, .dimr]
    @Option(help: "Preset (the PyTorch twins model tiny only).") var preset = "tiny"
    @Option(help: "Images per step.") var batchSize = 32
    @Option(help: "Timed steps per side (after 2 warm-up steps).") var steps = 10
    @Option(help: "Rounds alternating ours and eager PyTorch per architecture (medians over rounds).") var rounds = 3
    @Flag(help: "Also time torch.compile(model) (slow to start: it compiles once per architecture).") var torchCompile = false
    @Flag(name: .customLong("no-torch"), help: "Skip the PyTorch side.") var noTorch = false
    @Flag(help: "Print JSON.") var json = false

    /// The target of issue #14: ours at least 1.5× eager PyTorch's speed.
    static let target = 1.5

    struct Row: Encodable {
        var arch: String
        var parameters: Int
        var medianStepSeconds: Double
        /// One step's sgemm calls replayed alone (OpenBLAS, operands warm): the floor of a step
        /// whose GEMMs OpenBLAS runs, and `torch / floor` the best ratio such a trainer can show.
        var gemmFloorSeconds: Double
        var gemmCalls: Int
        var gemmGigaflops: Double
        var torchMedianStepSeconds: Double?
        var speedVsTorch: Double?
        var torchCompiledMedianStepSeconds: Double?
        var speedVsTorchCompiled: Double?
        /// PyTorch's time over ours in each round (the spread the host's drift gives)
        var speedVsTorchPerRound: [Double]?
        var note: String?
    }

    /// One run of the PyTorch twin: its median step time. Notes a parameter-count mismatch in `row`.
    private func torchStepSeconds(_ arch: Architecture, compiled: Bool, threads: Int, row: inout Row, version: inout String?) throws -> Double {
        let line = try runReferenceScript("train_step_torch.py",
                                          ["--arch", arch.rawValue, "--preset", preset, "--batch-size", "\(batchSize)",
                                           "--steps", "\(steps)", "--threads", "\(threads)"] + (compiled ? ["--compile"] : []),
                                          threads: threads)
        guard let obj = try JSONSerialization.jsonObject(with: line) as? [String: Any],
              let seconds = obj["median_step_seconds"] as? Double else { throw BenchError("train_step_torch.py printed no timing") }
        if let p = obj["parameters"] as? Int, p != row.parameters {
            row.note = "the PyTorch twin has \(p) parameters, ours \(row.parameters): not the same model"
        }
        version = obj["torch"] as? String ?? version
        return seconds
    }

    func run() throws {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var rows: [Row] = []
        var torchVersion: String?
        for arch in arch {
            let model = try makeModel(try modelConfig(arch, preset: preset), seed: 0)
            var config = TrainConfig()
            config.batchSize = batchSize; config.steps = Int.max; config.evalEvery = 0
            let trainer = try Trainer(model: model, data: EmbeddedTrainingData(), config: config,
                                      runFolder: FileManager.default.temporaryDirectory)
            let calls = BLAS.recordingSgemmCalls { trainer.trainStep() }.calls
            let floor = median((0..<5).map { _ in BLAS.replaySgemmCalls(calls) })
            var oursPerRound: [Double] = [], torchPerRound: [Double] = []
            var row = Row(arch: arch.rawValue, parameters: model.parameters.count, medianStepSeconds: 0, gemmFloorSeconds: floor,
                          gemmCalls: calls.count, gemmGigaflops: calls.map(\.flops).reduce(0, +) / 1e9)
            for _ in 0..<max(1, rounds) {
                oursPerRound.append(median(runSeconds(repeats: steps, warmup: 2) { trainer.trainStep() }))
                if noTorch || row.note != nil { continue }
                do { torchPerRound.append(try torchStepSeconds(arch, compiled: false, threads: threads, row: &row, version: &torchVersion)) }
                catch { row.note = "PyTorch side not run: \(error)" }
            }
            row.medianStepSeconds = median(oursPerRound)
            if !torchPerRound.isEmpty {
                row.torchMedianStepSeconds = median(torchPerRound)
                row.speedVsTorch = median(torchPerRound) / row.medianStepSeconds
                row.speedVsTorchPerRound = zip(torchPerRound, oursPerRound).map { $0 / $1 }
            }
            if torchCompile && !noTorch && row.note == nil {
                do {
                    let seconds = try torchStepSeconds(arch, compiled: true, threads: threads, row: &row, version: &torchVersion)
                    row.torchCompiledMedianStepSeconds = seconds; row.speedVsTorchCompiled = seconds / row.medianStepSeconds
                } catch { row.note = "torch.compile not run: \(error)" }
            }
            rows.append(row)
        }
        if json {
            struct Report: Encodable { var preset: String; var batchSize: Int; var threads: Int; var rounds: Int; var torch: String?; var target: Double; var rows: [Row] }
            print(try jsonText(Report(preset: preset, batchSize: batchSize, threads: threads, rounds: max(1, rounds), torch: torchVersion,
                                      target: Self.target, rows: rows),
                               style: .line, keys: .convertToSnakeCase))
            return
        }
        print("preset \(preset), batch \(batchSize), \(threads) threads, \(max(1, rounds)) rounds\(torchVersion.map { ", torch \($0)" } ?? ""); speed ratio = PyTorch's step time / ours, medians over rounds (target ≥ \(Self.target)×)")
        for r in rows {
            var line = String(format: "%-5@ %9d params  ours %7.1f ms/step (GEMM floor %5.1f ms: %d calls, %.2f GFLOP)", r.arch as NSString,
                              r.parameters, r.medianStepSeconds * 1000, r.gemmFloorSeconds * 1000, r.gemmCalls, r.gemmGigaflops)
            if let t = r.torchMedianStepSeconds, let s = r.speedVsTorch {
                line += String(format: "  eager PyTorch %7.1f ms → %.2f× (%.2f× at the GEMM floor)", t * 1000, s, t / r.gemmFloorSeconds)
                if let each = r.speedVsTorchPerRound, each.count > 1 {
                    line += String(format: "; rounds %.2f–%.2f×", each.min()!, each.max()!)
                }
            }
            if let t = r.torchCompiledMedianStepSeconds, let s = r.speedVsTorchCompiled { line += String(format: "  torch.compile %7.1f ms → %.2f×", t * 1000, s) }
            print(line)
            if let note = r.note { print("      \(note)") }
        }
    }
}
