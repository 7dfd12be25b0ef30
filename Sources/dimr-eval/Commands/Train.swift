import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train DiMR, DiT or U-ViT.")
    func run() throws { throw ValidationError("`train` is not implemented yet") }
}
