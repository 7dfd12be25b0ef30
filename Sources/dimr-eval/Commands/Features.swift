import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Inception features (pool3, spatial) of images.")
    func run() throws { throw ValidationError("`features` is not implemented yet") }
}
