import ArgumentParser

// PLACEHOLDER — owned by a helper; replace entirely.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Feature statistics (mu, sigma, mu_s, sigma_s) in ADM format.")
    func run() throws { throw ValidationError("`stats` is not implemented yet") }
}
