import Foundation

/// The one place the package writes JSON: typed values (`encodeJSON`, `jsonText`), untyped objects
/// (`encodeJSONObject`, `jsonObjectText`), event lines (`jsonEventLine`) and appended metrics lines
/// (`appendJSONLine`). The only other writer is the safetensors header, a file format of its own.

/// The two shapes of JSON the package writes. Keys are always sorted: scripts, diffs and the
/// README's contracts see one order whatever the process's dictionary hash seed.
public enum JSONStyle: Sendable {
    /// Indented, slashes as they are: the one object a command's `--json` prints last, reports on disk.
    case document
    /// One line, Foundation's default `\/` escaping kept: the bytes of existing JSON-lines logs and
    /// one-line `--json` summaries are a contract, and changing the escaping would change them.
    case line
}

/// `value` encoded as JSON in `style`. `nonFinite` decides what NaN and ±∞ become (the default
/// throws, so a NaN metric is not silently written as a number JSON cannot hold); `keys` how
/// property names become keys (the default: as they are, or as the type's CodingKeys say).
public func encodeJSON<T: Encodable>(_ value: T, style: JSONStyle,
                                     nonFinite: JSONEncoder.NonConformingFloatEncodingStrategy = .throw,
                                     keys: JSONEncoder.KeyEncodingStrategy = .useDefaultKeys) throws -> Data {
    let encoder = JSONEncoder()
    switch style {
    case .document: encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    case .line: encoder.outputFormatting = [.sortedKeys]
    }
    encoder.nonConformingFloatEncodingStrategy = nonFinite
    encoder.keyEncodingStrategy = keys
    return try encoder.encode(value)
}

/// `encodeJSON` as text.
public func jsonText<T: Encodable>(_ value: T, style: JSONStyle,
                                   nonFinite: JSONEncoder.NonConformingFloatEncodingStrategy = .throw,
                                   keys: JSONEncoder.KeyEncodingStrategy = .useDefaultKeys) throws -> String {
    String(decoding: try encodeJSON(value, style: style, nonFinite: nonFinite, keys: keys), as: UTF8.self)
}

/// An untyped object (from JSONSerialization, or built as `[String: Any]`) as JSON in `style`.
/// Kept apart from `encodeJSON`: JSONSerialization formats numbers its own way, and the files and
/// outputs written through it (features and statistics `meta`, the demo's summary) keep their bytes.
public func encodeJSONObject(_ object: Any, style: JSONStyle = .line) throws -> Data {
    switch style {
    case .document: return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    case .line: return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}

/// `encodeJSONObject` as one sorted-key line of text.
public func jsonObjectText(_ object: Any) throws -> String {
    String(decoding: try encodeJSONObject(object), as: UTF8.self)
}

/// `value`'s JSON read back as an untyped object, as a reader of the file it was written to sees it
/// (numbers through JSONSerialization's parser, which may differ from `value`'s in the last digit).
public func jsonObject<T: Encodable>(_ value: T) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: encodeJSON(value, style: .document)) as? [String: Any] else {
        throw FormatError(file: "\(T.self)", field: "JSON", expected: "an object", found: "another JSON value")
    }
    return object
}

/// One JSON line for scripts: the value's fields plus `"event"` naming what kind of line it is.
public func jsonEventLine<T: Encodable>(_ value: T, event: String,
                                        nonFinite: JSONEncoder.NonConformingFloatEncodingStrategy = .throw) -> String {
    let text = (try? jsonText(value, style: .line, nonFinite: nonFinite)) ?? "{}"
    // Spliced in as text: a round trip through JSONSerialization turns 0 and 1 into booleans on Linux.
    let rest = text.dropFirst()
    return "{\"event\":\"\(event)\"" + (rest.hasPrefix("}") ? "" : ",") + rest
}

/// A JSON number from JSONSerialization as a Double, or nil for anything else. On Linux, `0 is Bool`
/// and `1 is Bool` are true for decoded numbers, so booleans are told apart by their class instead
/// (a precision of exactly 0 or 1 must not vanish from a report).
public func jsonNumber(_ value: Any) -> Double? {
    guard let number = value as? NSNumber else { return nil }
    if String(describing: type(of: value)).contains("Boolean") { return nil }  // __NSCFBoolean
    return number.doubleValue
}

/// A JSON value for metrics lines (numbers, strings, nested objects).
public enum JSONValue: Encodable, Sendable {
    case number(Double), string(String), object([String: JSONValue])
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let v): try v.isFinite ? c.encode(v) : c.encodeNil()
        case .string(let s): try c.encode(s)
        case .object(let o): try c.encode(o)
        }
    }
}

/// Appends one JSON line; the whole file is rewritten atomically so a crash never leaves half a line.
/// `replacing`: earlier lines holding this key are dropped first (e.g. the demo's "final" scores,
/// so a second run of it leaves one such line, not two).
public func appendJSONLine(_ record: [String: JSONValue], to url: URL, replacing key: String? = nil) throws {
    var data = FileManager.default.contents(atPath: url.path) ?? Data()
    if let key {
        let kept = data.split(separator: 0x0A, omittingEmptySubsequences: true).filter { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { return true }
            return object[key] == nil
        }
        data = Data(kept.joined(separator: [0x0A]))
        if !data.isEmpty { data.append(0x0A) }
    }
    data.append(try encodeJSON(record, style: .line))
    data.append(0x0A)
    try writeAtomically(data, to: url)
}
