import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Fid: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fid", abstract: "Fréchet Inception Distance between two inputs.")
    func run() throws { throw ValidationError("`fid` is not implemented yet") }
}
