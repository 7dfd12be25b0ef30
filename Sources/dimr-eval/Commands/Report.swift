import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Self-contained HTML report of training runs.")
    func run() throws { throw ValidationError("`report` is not implemented yet") }
}
