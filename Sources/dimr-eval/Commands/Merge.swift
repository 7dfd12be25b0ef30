import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Combine shards of features or partial statistics exactly.")
    func run() throws { throw ValidationError("`merge` is not implemented yet") }
}
