import Foundation

/// The header of a `.npy` array (format versions 1.0, 2.0 and 3.0):
///   "\x93NUMPY" major minor, header length (u16 for 1.0, u32 for 2.0/3.0), then a Python dict
///   literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces.
/// Only C-order arrays of plain numeric types are accepted; Fortran order, object arrays (which
/// need pickle) and structured dtypes are refused with a message saying so.
public struct NpyHeader: Sendable, Equatable {
    public var dtype: NpyDType
    public var shape: [Int]
    /// True when the file stores big-endian values ('>' in descr); readers swap them to little-endian.
    public var bigEndian: Bool = false
    /// Bytes from the start of the .npy data to the first array element.
    public var headerLength: Int = 0

    public init(dtype: NpyDType, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var dataBytes: Int { elementCount * dtype.itemSize }
    /// Rows as `streamRows` sees them: the first dimension (a 0-d array is one row).
    public var rowCount: Int { shape.first ?? 1 }
    public var rowBytes: Int { shape.dropFirst().reduce(1, *) * dtype.itemSize }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// Largest header we accept; numpy itself refuses more than 10 000 bytes by default.
    static let maxHeaderLength = 1 << 20

    /// How many bytes of the file the header occupies, from its first 12 bytes
    /// (nil when fewer than 12 are given). Throws if those bytes are not a .npy preamble.
    static func totalLength(prefix: UnsafeRawBufferPointer, file: String) throws -> Int? {
        if prefix.count >= 6 && !zip(prefix.prefix(6), magic).allSatisfy({ $0 == $1 }) {
            throw FormatError(file: file, field: "npy magic", expected: "\\x93NUMPY",
                              found: describeBytes(prefix.prefix(8)))
        }
        guard prefix.count >= 12 else { return nil }
        let major = prefix[6], minor = prefix[7]
        switch major {
        case 1:
            return 10 + (Int(prefix[8]) | Int(prefix[9]) << 8)
        case 2, 3:
            let n = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
            guard n <= maxHeaderLength else {
                throw FormatError(file: file, field: "npy header length",
                                  expected: "at most \(maxHeaderLength) bytes", found: "\(n) bytes")
            }
            return 12 + n
        default:
            throw FormatError(file: file, field: "npy format version", expected: "1.0, 2.0 or 3.0",
                              found: "\(major).\(minor)")
        }
    }

    /// Parses a complete header (`bytes` holds at least `totalLength` bytes).
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> NpyHeader {
        guard let total = try totalLength(prefix: bytes, file: file) else {
            throw FormatError(file: file, field: "npy header", expected: "at least 12 bytes",
                              found: "\(bytes.count) bytes (file truncated)")
        }
        guard bytes.count >= total else {
            throw FormatError(file: file, field: "npy header", expected: "\(total) bytes",
                              found: "\(bytes.count) bytes (file truncated)")
        }
        let start = bytes[6] == 1 ? 10 : 12
        let textBytes = Array(bytes[start..<total])
        // 1.0/2.0 headers are latin-1, 3.0 is utf-8; the dict itself is ASCII either way.
        let text = bytes[6] == 3 ? (String(bytes: textBytes, encoding: .utf8) ?? "")
                                 : (String(bytes: textBytes, encoding: .isoLatin1) ?? "")
        var parser = PythonLiteralParser(text: text, file: file)
        let dict = try parser.parseHeaderDict()

        guard case .string(let descr)? = dict["descr"] else {
            if case .list? = dict["descr"] {
                throw FormatError(file: file, field: "npy descr", expected: "a plain numeric dtype",
                                  found: "a structured dtype (record array)")
            }
            throw FormatError(file: file, field: "npy descr", expected: "a dtype string such as '<f4'",
                              found: dict["descr"].map { "\($0)" } ?? "no 'descr' key")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw FormatError(file: file, field: "npy fortran_order", expected: "True or False",
                              found: dict["fortran_order"].map { "\($0)" } ?? "no 'fortran_order' key")
        }
        guard case .tuple(let shape)? = dict["shape"] else {
            throw FormatError(file: file, field: "npy shape", expected: "a tuple of integers",
                              found: dict["shape"].map { "\($0)" } ?? "no 'shape' key")
        }
        if fortran {
            throw FormatError(file: file, field: "npy fortran_order", expected: "False (C order)",
                              found: "True (Fortran order; save with np.ascontiguousarray first)")
        }
        var header = NpyHeader(dtype: .uint8, shape: shape)
        (header.dtype, header.bigEndian) = try parseDescr(descr, file: file)
        header.headerLength = total
        // Element count must not overflow when multiplied out.
        var count = header.dtype.itemSize
        for d in shape {
            guard d >= 0 else {
                throw FormatError(file: file, field: "npy shape", expected: "non-negative sizes", found: "\(shape)")
            }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw FormatError(file: file, field: "npy shape", expected: "a size that fits in memory",
                                  found: "\(shape)")
            }
            count = p
        }
        return header
    }

    static func parseDescr(_ descr: String, file: String) throws -> (NpyDType, Bool) {
        let chars = Array(descr)
        if descr.contains("O") {
            throw FormatError(file: file, field: "npy descr", expected: "a numeric dtype",
                              found: "'\(descr)' (an object array, which needs pickle; not supported)")
        }
        guard chars.count >= 3, "<>|=".contains(chars[0]), let size = Int(String(chars[2...])),
              let dtype = NpyDType(kind: chars[1], size: size) else {
            throw FormatError(file: file, field: "npy descr",
                              expected: "one of " + NpyDType.allCases.map(\.descr).joined(separator: " "),
                              found: "'\(descr)'")
        }
        return (dtype, chars[0] == ">" && size > 1)
    }

    /// The bytes of a version 1.0 header (2.0 when the dict does not fit in 65 535 bytes),
    /// padded so that the data starts at a multiple of 64 bytes as numpy does.
    public func encoded() -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        var version: UInt8 = 1
        var preamble = 10
        if dict.utf8.count + 1 + 64 > 65535 { version = 2; preamble = 12 }
        let unpadded = preamble + dict.utf8.count + 1
        let padded = (unpadded + 63) / 64 * 64
        let headerText = dict + String(repeating: " ", count: padded - unpadded) + "\n"
        let n = headerText.utf8.count
        var out = NpyHeader.magic + [version, 0]
        if version == 1 { out += [UInt8(n & 0xFF), UInt8(n >> 8)] } else {
            out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        }
        out += Array(headerText.utf8)
        return out
    }
}

func describeBytes<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    if bytes.isEmpty { return "an empty file" }
    return bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
}

/// Swaps the bytes of every `itemSize`-byte element in place (big-endian → little-endian).
func swapBytesInPlace(_ buffer: UnsafeMutableRawBufferPointer, itemSize: Int) {
    guard itemSize > 1, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
    var i = 0
    while i + itemSize <= buffer.count {
        var lo = i, hi = i + itemSize - 1
        while lo < hi { swap(&base[lo], &base[hi]); lo += 1; hi -= 1 }
        i += itemSize
    }
}

/// Just enough of Python's literal syntax for a .npy header dict: strings, True/False, None,
/// integers, tuples and lists (lists only so that structured dtypes can be named and refused).
struct PythonLiteralParser {
    enum Value: CustomStringConvertible {
        case string(String), bool(Bool), int(Int), tuple([Int]), list, none
        var description: String {
            switch self {
            case .string(let s): "'\(s)'"
            case .bool(let b): b ? "True" : "False"
            case .int(let i): "\(i)"
            case .tuple(let t): "\(t)"
            case .list: "a list"
            case .none: "None"
            }
        }
    }

    let chars: [Character]
    var i = 0
    let file: String

    init(text: String, file: String) {
        chars = Array(text)
        self.file = file
    }

    func error(_ expected: String) -> FormatError {
        let context = String(chars[min(i, chars.count)...].prefix(30))
        return FormatError(file: file, field: "npy header dict", expected: expected,
                           found: context.isEmpty ? "end of header" : "'\(context)'")
    }

    mutating func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard i < chars.count, chars[i] == c else { throw error("'\(c)'") }
        i += 1
    }

    mutating func peek() -> Character? { skipSpace(); return i < chars.count ? chars[i] : nil }

    mutating func parseHeaderDict() throws -> [String: Value] {
        var dict: [String: Value] = [:]
        try expect("{")
        while peek() != "}" {
            guard case .string(let key) = try parseValue() else { throw error("a string key") }
            try expect(":")
            dict[key] = try parseValue()
            if peek() == "," { i += 1 } else { break }
        }
        try expect("}")
        return dict
    }

    mutating func parseValue() throws -> Value {
        guard let c = peek() else { throw error("a value") }
        if c == "'" || c == "\"" {
            i += 1
            var s = ""
            while i < chars.count, chars[i] != c { s.append(chars[i]); i += 1 }
            guard i < chars.count else { throw error("a closing quote") }
            i += 1
            return .string(s)
        }
        if c == "(" {
            i += 1
            var items: [Int] = []
            while peek() != ")" {
                guard case .int(let n) = try parseValue() else { throw error("an integer dimension") }
                items.append(n)
                if peek() == "," { i += 1 } else { break }
            }
            try expect(")")
            return .tuple(items)
        }
        if c == "[" {
            // Skip to the matching bracket; a list only appears as a structured dtype's descr.
            var depth = 0
            repeat {
                guard i < chars.count else { throw error("a closing ']'") }
                if chars[i] == "[" { depth += 1 } else if chars[i] == "]" { depth -= 1 }
                i += 1
            } while depth > 0
            return .list
        }
        if c == "-" || c.isNumber {
            var s = ""
            if c == "-" { s.append(c); i += 1 }
            while i < chars.count, chars[i].isNumber { s.append(chars[i]); i += 1 }
            if i < chars.count, chars[i] == "L" { i += 1 }  // Python 2 long suffix: (3L, 4L)
            guard let n = Int(s) else { throw error("an integer") }
            return .int(n)
        }
        for (word, value) in [("True", Value.bool(true)), ("False", .bool(false)), ("None", .none)] {
            if chars[i...].starts(with: word) { i += word.count; return value }
        }
        throw error("a Python literal")
    }
}
