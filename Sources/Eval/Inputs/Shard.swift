import Foundation
import TensorCore
import TensorIO

/// "i/n": shard i (0-based) of n, one machine's part of `dimr-eval features` over a large batch
/// (`ShardMerge` joins the parts).
public struct ShardSpec: CustomStringConvertible, Equatable, Sendable {
    public var index: Int
    public var count: Int

    /// A spec that is not i/n with 0 ≤ i < n.
    public struct SyntaxError: Error, CustomStringConvertible {
        public static let expected = "i/n with 0 ≤ i < n (e.g. 0/4)"
        public var found: String
        public var description: String { "shard: expected \(Self.expected), found '\(found)'" }
    }

    public init(index: Int, count: Int) { self.index = index; self.count = count }

    public init(_ text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, i >= 0, i < n else {
            throw SyntaxError(found: text)
        }
        index = i; count = n
    }

    /// Shards are cut between batches: batch b of the whole set is ⌊b·n/B⌋'s, B = ⌈N/batchSize⌉. An
    /// image's float32 features depend in the last bits on how many images share its batch (up to
    /// 1.5e-5 measured: the GEMM shapes change), so only batches identical to a single pass's give
    /// that pass's features exactly.
    public func rows(of total: Int, batchSize: Int) -> Range<Int> {
        let batches = (total + batchSize - 1) / batchSize
        func start(_ i: Int) -> Int { min(total, (batches * i / count) * batchSize) }
        return start(index)..<start(index + 1)
    }
    public var description: String { "\(index)/\(count)" }
}

/// The rows `rows` of a source. Folders decode only those files; arrays read past the others.
public struct ShardSource: ImageSource {
    public let base: any ImageSource
    public let rows: Range<Int>
    public var url: URL { base.url }
    public var count: Int { rows.count }
    public var labels: [Int]? { base.labels.map { Array($0[rows]) } }

    public init(_ base: any ImageSource, rows: Range<Int>) { self.base = base; self.rows = rows }

    public func forEachBatch(size: Int, _ body: (Int, [RGBImage]) throws -> Void) throws {
        if rows == 0..<base.count { return try base.forEachBatch(size: size, body) }
        if let folder = base as? ImageFolderSource {
            var start = rows.lowerBound
            while start < rows.upperBound {
                let end = min(start + size, rows.upperBound)
                let files = Array(folder.files[start..<end])
                var decoded = [Result<RGBImage, Error>?](repeating: nil, count: files.count)
                decoded.withUnsafeMutableBufferPointer { out in
                    let slots = UncheckedSendable(out)
                    parallelFor(files.count) { i in slots.value[i] = Result { try readImage(files[i]) } }
                }
                try body(start - rows.lowerBound, try decoded.map { try $0!.get() })
                start = end
            }
            return
        }
        var pending: [RGBImage] = [], pendingStart = 0
        do {
            try base.forEachBatch(size: size) { start, images in
                for (k, image) in images.enumerated() where rows.contains(start + k) {
                    if pending.isEmpty { pendingStart = start + k - rows.lowerBound }
                    pending.append(image)
                    if pending.count == size { try body(pendingStart, pending); pending = [] }
                }
                if start + images.count >= rows.upperBound { throw PastTheShard() }
            }
        } catch is PastTheShard {}
        if !pending.isEmpty { try body(pendingStart, pending) }
    }

    /// Thrown out of the base's batch loop once the shard's last row went by: the rest of an
    /// array need not be read.
    private struct PastTheShard: Error {}
}
