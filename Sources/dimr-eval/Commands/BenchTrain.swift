import ArgumentParser
import DiMRTrainer
import Foundation
import TensorCore
import TensorIO

/// `dimr-eval bench train`: one training step of a preset (default tiny DiMR, batch 32) here and
/// in PyTorch (scripts/bench/train_step_torch.py, the same architecture written for torch, run on
/// the same number of threads), reported as a speed ratio.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Training step time vs. the same model in PyTorch.")

    @Option(help: "Architecture: dimr, dit or uvit. Default: dimr.", transform: Architecture.parse) var arch = Architecture.dimr
    @Option(help: "Preset.") var preset = "tiny"
    @Option(help: "Images per step.") var batchSize = 32
    @Option(help: "Timed steps (after 2 warm-up steps).") var steps = 10
    @Option(help: "Python with torch for the comparison (empty: skip).") var python = "/tmp/anchors/bin/python"
    @Option(help: "The PyTorch twin.") var script = "scripts/bench/train_step_torch.py"
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let model = try makeModel(try modelConfig(arch, preset: preset), seed: 0)
        var config = TrainConfig()
        config.batchSize = batchSize; config.steps = Int.max; config.evalEvery = 0
        let trainer = try Trainer(model: model, data: EmbeddedTrainingData(), config: config,
                                  runFolder: FileManager.default.temporaryDirectory)
        let times = runSeconds(repeats: steps, warmup: 2) { trainer.trainStep() }
        let ours = times.sorted()[times.count / 2]
        var torch: Double?
        var note = ""
        if !python.isEmpty && FileManager.default.isExecutableFile(atPath: python) && FileManager.default.fileExists(atPath: script) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [script, "--arch", arch.rawValue, "--preset", preset, "--batch-size", "\(batchSize)", "--steps", "\(steps)",
                           "--threads", "\(ProcessInfo.processInfo.activeProcessorCount)"]
            let pipe = Pipe(); p.standardOutput = pipe
            try p.run(); p.waitUntilExit()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if let line = out.split(separator: "\n").last, let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let s = obj["median_step_seconds"] as? Double {
                torch = s
                note = "torch \(obj["torch"] ?? "?"), \(obj["parameters"] ?? "?") parameters"
            } else {
                note = "PyTorch run failed (exit \(p.terminationStatus))"
            }
        } else {
            note = "PyTorch comparison skipped (\(python) or \(script) not found)"
        }
        let ratio = torch.map { $0 / ours }
        if json {
            var o: [String: Any] = ["arch": arch.rawValue, "preset": preset, "batch_size": batchSize, "parameters": model.parameters.count,
                                    "median_step_seconds": ours, "note": note]
            if let torch { o["torch_median_step_seconds"] = torch }
            if let ratio { o["speed_vs_torch"] = ratio }
            print(try jsonObjectText(o))
        } else {
            print(String(format: "%@ %@ (%d params), batch %d: %.1f ms/step", arch.rawValue, preset, model.parameters.count, batchSize, ours * 1000))
            if let torch, let ratio {
                print(String(format: "PyTorch: %.1f ms/step → speed ratio %.2f× (≥ 0.5 is the target)", torch * 1000, ratio))
            }
            if !note.isEmpty { print(note) }
        }
    }
}
