import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Weights: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "weights", abstract: "Find, verify and export the FID Inception weights.")
    func run() throws { throw ValidationError("`weights` is not implemented yet") }
}
