import Foundation

/// A value decoded from a Python pickle: the subset that PyTorch checkpoints and TorchScript
/// archives use. Nothing is ever executed: a call to a Python callable (REDUCE, NEWOBJ) becomes
/// a `PickleObject` naming the callable and holding its arguments, and the reader one level up
/// (`TorchArchive`) decides what the few callables it knows (`torch._utils._rebuild_tensor_v2`,
/// `collections.OrderedDict`, …) mean.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    /// Lists and dicts are references: pickles build them empty, memoise them, then fill them.
    case list(PickleList)
    case dict(PickleDict)
    /// A class or function named by GLOBAL / STACK_GLOBAL.
    case global(module: String, name: String)
    /// The result of calling a global: REDUCE (callable(*args)) or NEWOBJ (cls.__new__(cls, *args)),
    /// plus whatever BUILD set as its state.
    case object(PickleObject)
    /// A persistent id (BINPERSID): how torch refers to tensor storages kept outside the pickle.
    case persistent(PickleValue)

    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .string(let s): return "'\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        case .bytes(let b): return "bytes(\(b.count))"
        case .tuple(let t): return "tuple(\(t.count))"
        case .list(let l): return "list(\(l.items.count))"
        case .dict(let d): return "dict(\(d.items.count))"
        case .global(let m, let n): return "\(m).\(n)"
        case .object(let o): return "object \(o.callable)"
        case .persistent: return "persistent id"
        }
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    public var tupleItems: [PickleValue]? {
        switch self {
        case .tuple(let t): return t
        case .list(let l): return l.items
        default: return nil
        }
    }
}

public final class PickleList {
    public var items: [PickleValue]
    public init(_ items: [PickleValue] = []) { self.items = items }
}

/// Insertion-ordered, like Python 3.7+ dicts (state dicts rely on the order).
public final class PickleDict {
    public var items: [(key: PickleValue, value: PickleValue)]
    public init(_ items: [(key: PickleValue, value: PickleValue)] = []) { self.items = items }

    /// The value under a string key (the last one set wins, as in Python).
    public subscript(key: String) -> PickleValue? {
        items.last { $0.key.string == key }?.value
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = key.string, let i = items.lastIndex(where: { $0.key.string == k }) {
            items[i].value = value
        } else {
            items.append((key, value))
        }
    }
}

public final class PickleObject {
    /// What was called: usually `.global(module:name:)`.
    public let callable: PickleValue
    public let arguments: [PickleValue]
    /// Set by BUILD (a module's `__dict__`, a state dict's `_metadata`, …).
    public var state: PickleValue?
    /// SETITEMS / APPENDS on an object (e.g. an OrderedDict made by REDUCE) land here.
    public let dictItems = PickleDict()
    public let listItems = PickleList()

    public init(callable: PickleValue, arguments: [PickleValue]) {
        self.callable = callable
        self.arguments = arguments
    }

    public var globalName: String? {
        if case .global(let m, let n) = callable { return "\(m).\(n)" }
        return nil
    }
}

/// Decodes one pickle (protocols 0–5, the opcodes torch.save and torch.jit.save emit) from
/// `bytes` starting at `offset`. `end` is the offset just after its STOP, so several pickles
/// written one after another (PyTorch's legacy format) can be read in turn.
///
/// Truncated or corrupt input throws a `FormatError` naming the file, the byte offset and the
/// opcode; it never traps. Memory grows only with the pickle's own content.
public struct Unpickler {
    public let file: String
    private let bytes: [UInt8]
    private var position: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var opcodeStart = 0

    public init(_ bytes: [UInt8], offset: Int = 0, file: String) {
        self.bytes = bytes
        self.position = offset
        self.file = file
    }

    /// Offset after the last pickle read.
    public var end: Int { position }

    public static func load(_ bytes: [UInt8], file: String) throws -> PickleValue {
        var u = Unpickler(bytes, file: file)
        return try u.load()
    }

    public mutating func load() throws -> PickleValue {
        stack = []; marks = []; memo = [:]
        while true {
            opcodeStart = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: _ = try take(8)                                  // FRAME (protocol 4 framing hint)
            case 0x2E:                                                  // STOP
                guard let top = stack.popLast() else { throw error("a value before STOP", "an empty stack") }
                return top
            case 0x28: marks.append(stack.count)                        // MARK
            case 0x30: _ = try pop()                                    // POP
            case 0x31: _ = try popMark()                                // POP_MARK
            case 0x32: stack.append(try peek())                         // DUP
            case 0x4E: stack.append(.none)                              // NONE
            case 0x88: stack.append(.bool(true))                        // NEWTRUE
            case 0x89: stack.append(.bool(false))                       // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x4B: stack.append(.int(Int(try uint(1))))             // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))             // BININT2
            case 0x8A: stack.append(.int(try long(Int(try uint(1)))))   // LONG1
            case 0x8B: stack.append(.int(try long(try length(4))))      // LONG4
            case 0x49:                                                  // INT (text; "01"/"00" are bools)
                let text = try line()
                if text == "01" { stack.append(.bool(true)) } else if text == "00" { stack.append(.bool(false)) }
                else { guard let v = Int(text) else { throw error("a decimal integer", "'\(text)'") }; stack.append(.int(v)) }
            case 0x4C:                                                  // LONG (text, trailing L)
                let text = try line()
                guard let v = Int(text.hasSuffix("L") ? String(text.dropLast()) : text) else {
                    throw error("a decimal integer", "'\(text)'")
                }
                stack.append(.int(v))
            case 0x47:                                                  // BINFLOAT (big-endian double)
                let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case 0x46:                                                  // FLOAT (text)
                let text = try line()
                guard let v = Double(text) else { throw error("a decimal number", "'\(text)'") }
                stack.append(.float(v))
            case 0x58: stack.append(.string(try utf8(try length(4))))   // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(Int(try uint(1))))) // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try utf8(try length(8))))   // BINUNICODE8
            case 0x56: stack.append(.string(try line()))                // UNICODE (raw-unicode-escape; ASCII subset)
            case 0x54: stack.append(.string(try latin1(try length(4)))) // BINSTRING (Python 2 str)
            case 0x55: stack.append(.string(try latin1(Int(try uint(1))))) // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(try take(try length(4))))    // BINBYTES
            case 0x43: stack.append(.bytes(try take(Int(try uint(1))))) // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(try take(try length(8))))    // BINBYTES8
            case 0x96: stack.append(.bytes(try take(try length(8))))    // BYTEARRAY8
            case 0x29: stack.append(.tuple([]))                         // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))              // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x5D: stack.append(.list(PickleList()))                // EMPTY_LIST
            case 0x6C: stack.append(.list(PickleList(try popMark())))   // LIST
            case 0x61: let v = try pop(); try append([v])               // APPEND
            case 0x65: let vs = try popMark(); try append(vs)           // APPENDS
            case 0x8F: stack.append(.list(PickleList()))                // EMPTY_SET (kept as a list)
            case 0x90: let vs = try popMark(); try append(vs)           // ADDITEMS
            case 0x91: stack.append(.list(PickleList(try popMark())))   // FROZENSET
            case 0x7D: stack.append(.dict(PickleDict()))                // EMPTY_DICT
            case 0x64:                                                  // DICT
                let vs = try popMark()
                let d = PickleDict()
                try pairs(vs) { d.set($0, $1) }
                stack.append(.dict(d))
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v])   // SETITEM
            case 0x75: let vs = try popMark(); try setItems(vs)         // SETITEMS
            case 0x63:                                                  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.global(module: module, name: name))
            case 0x93:                                                  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.string, let n = name.string else {
                    throw error("two strings (module, name)", "\(module), \(name)")
                }
                stack.append(.global(module: m, name: n))
            case 0x52:                                                  // REDUCE
                let args = try pop(), callable = try pop()
                guard let a = args.tupleItems else { throw error("an argument tuple", "\(args)") }
                stack.append(.object(PickleObject(callable: callable, arguments: a)))
            case 0x81:                                                  // NEWOBJ
                let args = try pop(), cls = try pop()
                guard let a = args.tupleItems else { throw error("an argument tuple", "\(args)") }
                stack.append(.object(PickleObject(callable: cls, arguments: a)))
            case 0x92:                                                  // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                guard let a = args.tupleItems else { throw error("an argument tuple", "\(args)") }
                stack.append(.object(PickleObject(callable: cls, arguments: a)))
            case 0x62:                                                  // BUILD
                let state = try pop()
                switch try peek() {
                case .object(let o): try refuseCycle(o, [state]); o.state = state
                case .dict(let d):  // e.g. an OrderedDict's __dict__; merge string-keyed entries
                    if case .dict(let s) = state { try refuseCycle(d, [state]); for (k, v) in s.items { d.set(k, v) } }
                default: throw error("an object to BUILD", "\(try peek())")
                }
            case 0x51: stack.append(.persistent(try pop()))             // BINPERSID
            case 0x50: stack.append(.persistent(.string(try line())))   // PERSID
            case 0x68: try get(Int(try uint(1)))                        // BINGET
            case 0x6A: try get(Int(try uint(4)))                        // LONG_BINGET
            case 0x67:                                                  // GET
                let text = try line()
                guard let i = Int(text) else { throw error("a memo index", "'\(text)'") }
                try get(i)
            case 0x71: memo[Int(try uint(1))] = try peek()              // BINPUT
            case 0x72: memo[Int(try uint(4))] = try peek()              // LONG_BINPUT
            case 0x70:                                                  // PUT
                let text = try line()
                guard let i = Int(text) else { throw error("a memo index", "'\(text)'") }
                memo[i] = try peek()
            case 0x94: memo[memo.count] = try peek()                    // MEMOIZE
            default:
                throw FormatError(file: file, field: "pickle at byte \(opcodeStart)",
                                  expected: "a pickle opcode used by PyTorch files",
                                  found: String(format: "opcode 0x%02X", op))
            }
        }
    }

    // MARK: - reading primitives

    private func error(_ expected: String, _ found: String) -> FormatError {
        let op = opcodeStart < bytes.count ? String(format: "0x%02X", bytes[opcodeStart]) : "?"
        return FormatError(file: file, field: "pickle opcode \(op) at byte \(opcodeStart)", expected: expected, found: found)
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else {
            throw FormatError(file: file, field: "pickle at byte \(position)", expected: "more data (no STOP opcode yet)",
                              found: "end of data (file truncated?)")
        }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - position else {
            throw error("\(n) more bytes", "\(bytes.count - position) (file truncated?)")
        }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        return v
    }

    /// A length field, checked against what is left so a corrupt value cannot ask for terabytes.
    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count - position) else {
            throw error("a length within the \(bytes.count - position) bytes left", "\(v) (file truncated or corrupt)")
        }
        return Int(v)
    }

    /// Two's-complement little-endian integer of n bytes (LONG1/LONG4); must fit in 64 bits.
    private mutating func long(_ n: Int) throws -> Int {
        let b = try take(n)
        if b.isEmpty { return 0 }
        guard n <= 8 else {
            // Longer encodings are allowed only if they are sign extensions of a 64-bit value.
            let fill: UInt8 = (b[7] & 0x80) != 0 ? 0xFF : 0
            guard b[8...].allSatisfy({ $0 == fill }) else { throw error("an integer that fits in 64 bits", "\(n) bytes") }
            return try Unpickler.signed(Array(b[0..<8]))
        }
        return try Unpickler.signed(b)
    }

    private static func signed(_ b: [UInt8]) throws -> Int {
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        let bits = 8 * b.count
        if bits < 64 && (b.last! & 0x80) != 0 { v |= ~UInt64(0) << UInt64(bits) }
        return Int(Int64(bitPattern: v))
    }

    private mutating func utf8(_ n: Int) throws -> String {
        let b = try take(n)
        guard let s = String(bytes: b, encoding: .utf8) else { throw error("UTF-8 text", "invalid UTF-8 (\(n) bytes)") }
        return s
    }

    private mutating func latin1(_ n: Int) throws -> String {
        String(decoding: try take(n).map { UInt16($0) }, as: UTF16.self)
    }

    private mutating func line() throws -> String {
        guard let nl = bytes[position...].firstIndex(of: 0x0A) else {
            throw error("a newline-terminated argument", "end of data (file truncated?)")
        }
        let text = String(decoding: bytes[position..<nl], as: UTF8.self)
        position = nl + 1
        return text
    }

    // MARK: - stack

    private mutating func pop() throws -> PickleValue {
        if let m = marks.last, stack.count <= m { throw error("a value above the MARK", "the MARK") }
        guard let v = stack.popLast() else { throw error("a value on the stack", "an empty stack") }
        return v
    }

    private func peek() throws -> PickleValue {
        guard let v = stack.last else { throw error("a value on the stack", "an empty stack") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw error("a MARK on the stack", "no MARK") }
        let values = Array(stack[m...])
        stack.removeSubrange(m...)
        return values
    }

    private mutating func get(_ index: Int) throws {
        guard let v = memo[index] else { throw error("memo entry \(index)", "none stored") }
        stack.append(v)
    }

    private mutating func append(_ values: [PickleValue]) throws {
        switch try peek() {
        case .list(let l): try refuseCycle(l, values); l.items += values
        case .object(let o): try refuseCycle(o, values); o.listItems.items += values
        case let other: throw error("a list to append to", "\(other)")
        }
    }

    private mutating func setItems(_ values: [PickleValue]) throws {
        let target = try peek()
        let dict: PickleDict
        switch target {
        case .dict(let d): dict = d
        case .object(let o): dict = o.dictItems  // OrderedDict() made by REDUCE, filled by SETITEMS
        default: throw error("a dict to set items in", "\(target)")
        }
        switch target {
        case .object(let o): try refuseCycle(o, values)
        default: try refuseCycle(dict, values)
        }
        try pairs(values) { dict.set($0, $1) }
    }

    /// Torch never writes a container that contains itself, and such a cycle of references would
    /// never be freed (and would send readers round in circles): putting `values` into
    /// `container` is refused when the container is reachable from them.
    private func refuseCycle(_ container: AnyObject, _ values: [PickleValue]) throws {
        var pending = values
        var seen = Set<ObjectIdentifier>()
        while let value = pending.popLast() {
            let object: AnyObject
            switch value {
            case .tuple(let items): pending += items; continue
            case .persistent(let id): pending.append(id); continue
            case .list(let l): object = l
            case .dict(let d): object = d
            case .object(let o): object = o
            default: continue
            }
            if object === container {
                throw error("a tree of values (torch files never refer back to a container from inside it)",
                            "a container that would contain itself")
            }
            guard seen.insert(ObjectIdentifier(object)).inserted else { continue }
            switch value {
            case .list(let l): pending += l.items
            case .dict(let d): for (k, v) in d.items { pending.append(k); pending.append(v) }
            case .object(let o):
                pending += [o.callable] + o.arguments + o.listItems.items
                if let state = o.state { pending.append(state) }
                for (k, v) in o.dictItems.items { pending.append(k); pending.append(v) }
            default: break
            }
        }
    }

    private func pairs(_ values: [PickleValue], _ body: (PickleValue, PickleValue) -> Void) throws {
        guard values.count % 2 == 0 else { throw error("key/value pairs", "\(values.count) values") }
        var i = 0
        while i < values.count { body(values[i], values[i + 1]); i += 2 }
    }
}
