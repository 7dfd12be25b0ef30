import Foundation
import TensorCore

/// How a parameter starts. The models state their reference's choice where they declare each one.
public enum Initializer: Sendable {
    case zeros
    case ones
    /// normal(0, std) cut at ±2 std (timm's `trunc_normal_`, used by DiMR and U-ViT)
    case truncatedNormal(std: Float)
    case normal(std: Float)
    /// U(−a, a) with a = √(6/(fanIn + fanOut)) (DiT's `xavier_uniform_`)
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// U(−1/√fanIn, 1/√fanIn) (torch's default for conv and linear layers)
    case torchDefault(fanIn: Int)
    /// these exact values (row-major, as many as the tensor has)
    case values([Float])
}

/// One trainable tensor with its checkpoint name and optimiser group.
public final class Parameter {
    public let name: String
    public let variable: Variable
    /// False for biases, norm gains, embeddings and time-dependent mixing weights (AdamW's no-decay group).
    public let decays: Bool

    init(name: String, variable: Variable, decays: Bool) {
        self.name = name; self.variable = variable; self.decays = decays
    }

    public var value: Tensor { variable.value }
    public var count: Int { variable.value.count }
}

/// Every parameter of a model in declaration order (which is also the order of the figure).
/// Each parameter draws its initial values from its own seeded stream, named after it, so adding
/// a layer does not change the others' start.
public final class ParameterStore {
    public private(set) var all: [Parameter] = []
    private var byName: [String: Parameter] = [:]
    public let seed: UInt64

    /// Another store's tensors, by name: a replica's parameters take their values from it.
    private let shared: ParameterStore?

    public init(seed: UInt64) { self.seed = seed; shared = nil }

    /// A store whose parameters are new variables (own gradients) over `other`'s value tensors.
    public init(sharingValuesOf other: ParameterStore) { seed = other.seed; shared = other }

    public func make(_ name: String, _ shape: [Int], _ initializer: Initializer, decays: Bool) -> Variable {
        precondition(byName[name] == nil, "parameter \(name) declared twice")
        if let shared {
            guard let source = shared[name], source.value.shape == shape else {
                preconditionFailure("replica parameter \(name) \(shape) has no twin in the shared store")
            }
            return register(Parameter(name: name, variable: Variable(source.value, requiresGrad: true), decays: decays))
        }
        let t = Tensor(zeros: shape)
        var rng = SplitMix64(seed: seed, stream: name)
        switch initializer {
        case .zeros: break
        case .ones: t.fill(1)
        case .normal(let std): rng.fillNormal(t.data, count: t.count, std: std)
        case .truncatedNormal(let std):
            for i in 0..<t.count {
                var v = rng.normal()
                while abs(v) > 2 { v = rng.normal() }
                t.data[i] = v * std
            }
        case .xavierUniform(let fanIn, let fanOut):
            let a = (6 / Double(fanIn + fanOut)).squareRoot()
            for i in 0..<t.count { t.data[i] = Float((rng.uniform() * 2 - 1) * a) }
        case .torchDefault(let fanIn):
            let a = 1 / Double(max(fanIn, 1)).squareRoot()
            for i in 0..<t.count { t.data[i] = Float((rng.uniform() * 2 - 1) * a) }
        case .values(let values):
            precondition(values.count == t.count, "parameter \(name) \(shape): \(values.count) initial values for \(t.count) entries")
            for i in 0..<t.count { t.data[i] = values[i] }
        }
        return register(Parameter(name: name, variable: Variable(t, requiresGrad: true), decays: decays))
    }

    private func register(_ p: Parameter) -> Variable {
        all.append(p)
        byName[p.name] = p
        return p.variable
    }

    public subscript(name: String) -> Parameter? { byName[name] }

    /// Total number of trainable values.
    public var count: Int { all.reduce(0) { $0 + $1.count } }

    /// Values per top-level component (the name's first dotted part), for the parameter table.
    public var countsByComponent: [(String, Int)] {
        var order: [String] = [], counts: [String: Int] = [:]
        for p in all {
            let key = String(p.name.split(separator: ".").first ?? "")
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += p.count
        }
        return order.map { ($0, counts[$0]!) }
    }

    public func zeroGrads() { for p in all { p.variable.zeroGrad() } }

    /// Copies of the values, by name (checkpoints, EMA start).
    public func snapshot() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.value.copy()) })
    }

    /// Overwrites values from `tensors`; every parameter must be present with its shape.
    public func load(_ tensors: [String: Tensor], prefix: String = "", source: String) throws {
        for p in all {
            guard let t = tensors[prefix + p.name] else {
                throw CheckpointError(file: source, field: prefix + p.name, expected: "tensor of shape \(p.value.shape)", found: "missing")
            }
            guard t.shape == p.value.shape else {
                throw CheckpointError(file: source, field: prefix + p.name, expected: "shape \(p.value.shape)", found: "shape \(t.shape)")
            }
            p.value.data.update(from: t.data, count: t.count)
        }
    }
}

/// A checkpoint that does not fit the model or run it is loaded into.
public struct CheckpointError: Error, CustomStringConvertible {
    public var file: String, field: String, expected: String, found: String
    public init(file: String, field: String, expected: String, found: String) {
        self.file = file; self.field = field; self.expected = expected; self.found = found
    }
    public var description: String { "\(file): \(field): expected \(expected), found \(found)" }
}
