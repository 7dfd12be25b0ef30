import ArgumentParser
import Eval
import Foundation
import TensorCore

@main
struct DimrEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dimr-eval",
        abstract: "Diffusion-model evaluation without Python: FID, sFID, IS, precision/recall, distortion rate; DiMR/DiT/U-ViT training and sampling.",
        version: dimrEvalVersion,
        subcommands: [
            Features.self, Stats.self, Fid.self, Evaluate.self, Merge.self,
            Train.self, Sample.self, Shapes.self, DistortionCommand.self, Report.self,
            Weights.self, Cache.self, Doctor.self, Bench.self, Demo.self,
        ]
    )

    static func main() {
        // Line-buffered stdout: a log file or `tee` sees each line (training steps, results) when it
        // happens and in order with stderr's stage messages, not in one block at exit.
        setvbuf(stdout, nil, _IOLBF, 0)
        keepFreedTensorMemory()
        main(nil)   // ArgumentParser's own parse, run and error exit
    }
}
