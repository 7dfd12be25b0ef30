import ArgumentParser

@main
struct DimrEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dimr-eval",
        abstract: "Diffusion-model evaluation without Python: FID, sFID, IS, precision/recall, distortion rate; DiMR/DiT/U-ViT training and sampling.",
        subcommands: [
            Features.self, Stats.self, Fid.self, Evaluate.self, Merge.self,
            Train.self, Sample.self, DistortionCommand.self, Report.self,
            Weights.self, Doctor.self, Bench.self, Demo.self,
        ]
    )
}
