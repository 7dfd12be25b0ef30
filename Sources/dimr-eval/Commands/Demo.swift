import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "The end-to-end pipeline on the embedded data.")
    func run() throws { throw ValidationError("`demo` is not implemented yet") }
}
