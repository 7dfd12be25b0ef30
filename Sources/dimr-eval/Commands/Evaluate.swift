import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Every metric in one pass: FID, sFID, IS, precision, recall, density, coverage, KID.")
    func run() throws { throw ValidationError("`eval` is not implemented yet") }
}
