import ArgumentParser
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// `dimr-eval features IMAGES -o OUT.npz`: Inception pool3 and spatial features of a batch of
/// images, optionally one shard of it (to spread a large batch over machines; `merge` joins them).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Inception features (pool3, spatial) of images.",
        discussion: """
        Writes OUT.npz with `pool` (N, 2048) float32 = pool3, `spatial` (N, 2023) float32 = mixed_6/conv \
        (Mixed_6d branch1x1) first 7 channels in H,W,C order (ADM's sFID layer), `index` (N) int64 = the \
        rows of IMAGES they belong to, and `meta` (uint8 JSON: layers, weights and their SHA-1, resize, shard). \
        A shard never uses the feature cache.
        """)

    @Argument(help: "An ADM .npz (arr_0 uint8 NHWC), a .npy, or a folder of JPEG/PNG images.")
    var images: String

    @Option(name: .shortAndLong, help: "Output .npz.")
    var output: String

    @Option(help: "Only shard i of n (0 ≤ i < n): the i-th of n runs of whole batches, so that the merge equals one pass with the same --batch-size byte for byte.")
    var shard: String?

    @OptionGroup var inception: InceptionOptions

    @Flag(help: "Print a JSON summary.") var json = false

    struct Summary: Codable {
        var output: String
        var images: Int
        var firstRow: Int
        var sourceImages: Int
        var seconds: Double
        var imagesPerSecond: Double
        var meta: FeaturesMeta
        var cache: FeatureCacheUse?
    }

    func validate() throws {
        guard let shard else { return }
        do { _ = try ShardSpec(shard) } catch let error as ShardSpec.SyntaxError {
            throw ValidationError("--shard must be \(ShardSpec.SyntaxError.expected), got '\(error.found)'")
        }
    }

    func run() throws {
        let started = Date()
        let out = try checkedOutput(output, inputs: [images])
        let source = try openImageSource(URL(fileURLWithPath: images))
        let spec = try shard.map(ShardSpec.init)
        if let spec, spec.rows(of: source.count, batchSize: inception.batchSize).isEmpty {
            throw ValidationError("shard \(spec) of \(source.count) images in batches of \(inception.batchSize) is empty: use fewer shards or a smaller --batch-size")
        }
        // Whole inputs go through the feature cache; a shard is one machine's part of a job.
        let provider = try inception.provider(cached: shard == nil)
        let written = try FeaturesFile.write(source, shard: spec, provider: provider, to: out)
        try report(out, rows: written.rows, source: source, meta: written.meta, started: started, cache: written.cache)
    }

    private func report(_ out: URL, rows: Range<Int>, source: any ImageSource, meta: FeaturesMeta, started: Date,
                        cache: FeatureCacheUse?) throws {
        let seconds = Date().timeIntervalSince(started)
        let summary = Summary(output: out.path, images: rows.count, firstRow: rows.lowerBound, sourceImages: source.count,
                              seconds: seconds, imagesPerSecond: Double(rows.count) / seconds, meta: meta, cache: cache)
        if json { print(try jsonText(summary, style: .document)); return }
        Self.printSummary(out, rows: rows, sourceImages: shard == nil ? nil : source.count, seconds: seconds, cache: cache)
    }

    /// The line `features` prints (the demo prints its reference's the same way); sourceImages:
    /// the whole input's count, for a shard.
    static func printSummary(_ out: URL, rows: Range<Int>, sourceImages: Int?, seconds: Double, cache: FeatureCacheUse?) {
        print("wrote \(out.path): pool (\(rows.count), \(InceptionV3.poolDimension)), spatial (\(rows.count), \(InceptionV3.spatialDimension))"
              + (sourceImages.map { ", rows \(rows.lowerBound)..<\(rows.upperBound) of \($0)" } ?? "")
              + String(format: " in %.1f s (%.1f img/s)", seconds, Double(rows.count) / seconds)
              + (cache?.status == .hit ? " from the feature cache" : ""))
    }
}
