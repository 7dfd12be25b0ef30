import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks against the machine's BLAS and the reference tools.")
    func run() throws { throw ValidationError("`bench` is not implemented yet") }
}
