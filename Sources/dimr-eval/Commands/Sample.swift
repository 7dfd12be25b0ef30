import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Sample from a trained checkpoint into an ADM batch.")
    func run() throws { throw ValidationError("`sample` is not implemented yet") }
}
