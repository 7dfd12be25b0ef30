/// A contiguous float32 tensor with reference semantics.
///
/// Like llm.c's activation blocks, a tensor is a named view of one allocation: kernels take raw
/// pointers and write into preallocated outputs, and nothing is copied behind the caller's back.
/// `reshaped` shares storage; `copy()` is the only way to duplicate data.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    private let owner: Tensor?  // keeps the allocation alive for views

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.data.initialize(repeating: 0, count: max(count, 1))
        self.owner = nil
    }

    /// An uninitialised tensor, for outputs a kernel overwrites completely.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.owner = nil
    }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) values, got \(values.count)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    public convenience init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
    }

    private init(view parent: Tensor, offset: Int = 0, shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = parent.data + offset
        self.owner = parent.owner ?? parent
    }

    deinit { if owner == nil { data.deallocate() } }

    /// Same data, new shape (sizes must agree). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[i] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(view: self, shape: resolved)
    }

    /// The entries `range` of the first axis, sharing storage (a batch cut into shards).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) of a tensor of shape \(shape)")
        let per = shape[0] == 0 ? 0 : count / shape[0]
        return Tensor(view: self, offset: range.lowerBound * per, shape: [range.count] + shape.dropFirst())
    }

    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }
    public var rank: Int { shape.count }

    public subscript(flat i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = buffer.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }
}

import Foundation
