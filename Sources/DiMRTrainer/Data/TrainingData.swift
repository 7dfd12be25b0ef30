import Foundation
import TensorCore
import TensorIO

/// Where training images come from. A "position" counts images consumed since step 0, so a
/// checkpoint stores one integer and a resumed run reads exactly the images it would have.
public protocol TrainingData {
    var description: String { get }
    var imageSize: Int { get }
    var numClasses: Int { get }
    /// Image at a position in the (endless, epoch-shuffled) stream.
    func example(at position: Int) -> (image: RGBImage, label: Int)
    /// Images to score samples against (FID reference set): the first `count` of a fixed order.
    func referenceImages(count: Int) -> [(image: RGBImage, label: Int)]
}

extension TrainingData {
    /// Positions position..<position+count as a batch: images (B, 3, H, W) scaled to [−1, 1], labels.
    public func batch(at position: Int, count: Int) -> (images: Tensor, labels: [Int]) {
        let s = imageSize, per = 3 * s * s
        let x = Tensor(uninitialized: [count, 3, s, s])
        var labels = [Int](repeating: 0, count: count)
        let examples = UnsafeMutableBufferPointer<(RGBImage, Int)?>.allocate(capacity: count)
        examples.initialize(repeating: nil)
        defer { examples.deallocate() }
        parallelFor(count) { i in examples[i] = self.example(at: position + i) }
        for i in 0..<count {
            let (image, label) = examples[i]!
            labels[i] = label
            let dst = x.data + i * per
            for c in 0..<3 {
                for p in 0..<(s * s) { dst[c * s * s + p] = Float(image.pixels[p * 3 + c]) / 127.5 - 1 }
            }
        }
        return (x, labels)
    }
}

/// The procedural shapes (EmbeddedShapes): position k is image k of the seed's stream. The
/// reference set uses a different seed, so FID is measured against images the model never saw.
public struct EmbeddedTrainingData: TrainingData {
    public let shapes: EmbeddedShapes
    public init(seed: UInt64 = 0, size: Int = 32) { shapes = EmbeddedShapes(seed: seed, size: size) }
    public var description: String { "embedded shapes (\(shapes.size)×\(shapes.size), \(shapes.numClasses) classes, procedural)" }
    public var imageSize: Int { shapes.size }
    public var numClasses: Int { shapes.numClasses }
    public func example(at position: Int) -> (image: RGBImage, label: Int) { shapes.image(position) }
    /// The stream of the reference set: another seed, so no image of it is ever trained on.
    public var heldOut: EmbeddedShapes { EmbeddedShapes(seed: shapes.seed ^ 0x5EED_0F_4EF, size: shapes.size) }
    public func referenceImages(count: Int) -> [(image: RGBImage, label: Int)] {
        let held = heldOut
        return (0..<count).map { held.image($0) }
    }
}

/// User images (ADM .npz / .npy / image folder, through TensorIO's `openImageSource`), held in
/// memory as uint8 and visited in a fresh seeded order each epoch. All images must be square
/// and of one size; labels come from the npz's arr_1, else every image is class 0.
public final class ImageSourceTrainingData: TrainingData {
    public let description: String
    public let imageSize: Int
    public let numClasses: Int
    private let images: [RGBImage]
    private let labels: [Int]
    private let seed: UInt64
    private let lock = NSLock()
    private var cachedEpoch = -1
    private var order: [Int] = []

    public init(url: URL, seed: UInt64) throws {
        let source = try openImageSource(url)
        var images: [RGBImage] = []
        images.reserveCapacity(source.count)
        try source.forEachBatch(size: 256) { _, batch in images.append(contentsOf: batch) }
        guard let first = images.first else {
            throw FormatError(url, field: "images", expected: "at least one image", found: "none")
        }
        for (i, image) in images.enumerated() where image.width != first.width || image.height != first.height || image.width != image.height {
            throw FormatError(url, field: "image \(i) size", expected: "square images all of size \(first.width)×\(first.height)",
                              found: "\(image.width)×\(image.height)")
        }
        let labels = source.labels ?? [Int](repeating: 0, count: images.count)
        if let bad = labels.first(where: { $0 < 0 }) {
            throw FormatError(url, field: "arr_1 (labels)", expected: "class indices ≥ 0", found: "\(bad)")
        }
        self.images = images
        self.labels = labels
        self.imageSize = first.width
        self.numClasses = (labels.max() ?? 0) + 1
        self.seed = seed
        self.description = "\(url.path) (\(images.count) images, \(first.width)×\(first.height), \((labels.max() ?? 0) + 1) classes)"
    }

    public func example(at position: Int) -> (image: RGBImage, label: Int) {
        let n = images.count, epoch = position / n
        lock.lock()
        if epoch != cachedEpoch {
            var rng = SplitMix64(seed: seed, stream: "epoch \(epoch)")
            order = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            cachedEpoch = epoch
        }
        let index = order[position % n]
        lock.unlock()
        return (images[index], labels[index])
    }

    public func referenceImages(count: Int) -> [(image: RGBImage, label: Int)] {
        (0..<min(count, images.count)).map { (images[$0], labels[$0]) }
    }
}
