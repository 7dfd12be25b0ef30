import Foundation

/// A file that is not what it should be: names the file, the field, what was expected and what
/// was found, so a user can act on it ("x.npz: arr_0 dtype: expected uint8, found <f4").
public struct FormatError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String
    public var expected: String
    public var found: String

    public init(file: String, field: String, expected: String, found: String) {
        self.file = file
        self.field = field
        self.expected = expected
        self.found = found
    }

    public init(_ url: URL, field: String, expected: String, found: String) {
        self.init(file: url.path, field: field, expected: expected, found: found)
    }

    public var description: String { "\(file): \(field): expected \(expected), found \(found)" }
}

extension FormatError: LocalizedError {
    public var errorDescription: String? { description }
}
