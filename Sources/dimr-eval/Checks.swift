import ArgumentParser
import Foundation
import Pipeline
import TensorIO

// Checks every command makes before its work starts: numeric options in range, outputs that can
// be written and are not one of the inputs. Numeric options are declared with
// `parsing: .unconditional`, so `--batch-size -1` reaches these checks instead of being taken
// for an option name ("Missing value").

/// Refuses an option value outside its range, naming the option, the range and the value.
func require(_ ok: Bool, _ option: String, _ expected: String, _ value: CustomStringConvertible) throws {
    guard ok else { throw ValidationError("\(option) must be \(expected), got \(value)") }
}

func requirePositive(_ value: Int, _ option: String) throws { try require(value > 0, option, "at least 1", value) }
func requireNonNegative(_ value: Int, _ option: String) throws { try require(value >= 0, option, "0 or more", value) }
func requirePositive(_ value: Float, _ option: String) throws {
    try require(value.isFinite && value > 0, option, "a finite number above 0", value)
}
func requireFinite(_ value: Float, _ option: String) throws { try require(value.isFinite, option, "a finite number", value) }
func requirePositive(_ value: Double, _ option: String) throws {
    try require(value.isFinite && value > 0, option, "a finite number above 0", value)
}
func requireNonNegative(_ value: Double, _ option: String) throws {
    try require(value.isFinite && value >= 0, option, "a finite number, 0 or more", value)
}
func requireFinite(_ value: Double, _ option: String) throws { try require(value.isFinite, option, "a finite number", value) }
func requireUnitInterval(_ value: Float, _ option: String) throws {
    try require(value.isFinite && value >= 0 && value <= 1, option, "between 0 and 1", value)
}
func requireUnitInterval(_ value: Double, _ option: String) throws {
    try require(value.isFinite && value >= 0 && value <= 1, option, "between 0 and 1", value)
}

/// An output path checked before the work (see `OutputPath.check`): its folder exists and is
/// writable, it is not one of `inputs`. Stale temporaries of killed runs in its folder are
/// removed, and each is named on stderr.
@discardableResult
func checkedOutput(_ path: String, option: String = "-o", inputs: [String] = []) throws -> URL {
    let url = URL(fileURLWithPath: path)
    let removed = try OutputPath.check(url, option: option, inputs: inputs.map { URL(fileURLWithPath: $0) })
    reportRemovedTemporaries(removed)
    return url
}

func reportRemovedTemporaries(_ removed: [URL]) {
    for url in removed { warn(StaleTemporaries.removalNote(url)) }
}

/// A closed set of option values, parsed with `@Option(transform: T.parse)`. ArgumentParser's own
/// refusal quotes each value ('a', 'b' or 'c'); this lists them as the CLI did when it checked
/// them by hand ("a, b, c"), the text scripts and tests match.
protocol OptionChoice: ExpressibleByArgument, CaseIterable, RawRepresentable where RawValue == String {}

extension OptionChoice {
    @Sendable static func parse(_ text: String) throws -> Self {
        guard let value = Self(rawValue: text) else {
            throw ValidationError("expected one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

/// Runs library work that may refuse an option once it has looked (`OptionRefusal`: a saved run,
/// a checkpoint's classes): the refusal is shown as the CLI's own option checks are (usage line,
/// exit code 64), not as a failure of the work.
func refusingOptions<T>(_ work: () throws -> T) throws -> T {
    do { return try work() } catch let refusal as OptionRefusal { throw ValidationError(refusal.message) }
}
