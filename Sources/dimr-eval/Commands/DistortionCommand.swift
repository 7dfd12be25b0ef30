import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct DistortionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distortion", abstract: "Distortion rate of samples: score, train, compare.")
    func run() throws { throw ValidationError("`distortion` is not implemented yet") }
}
