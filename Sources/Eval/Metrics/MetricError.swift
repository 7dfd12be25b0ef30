/// A metric cannot be computed from what it was given (too few images, mismatched dimensions,
/// non-finite values). The message names the inputs and says what was expected and found.
public struct MetricError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
