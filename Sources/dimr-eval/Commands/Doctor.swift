import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Versions, BLAS core and threads, weights found, cache paths.")
    func run() throws { throw ValidationError("`doctor` is not implemented yet") }
}
