/// A request refused because of what the pipeline found once it looked (a run already in the
/// folder, a saved run the settings contradict, a label the checkpoint has no class for). The
/// message names the option to change, so the CLI shows it as it shows its own option checks.
public struct OptionRefusal: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
