import ArgumentParser
import Eval
import Foundation
import InceptionNet
import TensorIO

/// `dimr-eval fid A B`: Fréchet Inception Distance between two inputs of any kind.
struct Fid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fid",
        abstract: "Fréchet Inception Distance between two inputs.",
        discussion: """
        Each side may be an ADM batch (.npz with arr_0, uint8 NHWC), a .npy of images, a folder of
        JPEG/PNG images, a features file (pool, spatial) or a statistics file (mu, sigma — e.g. ADM's
        VIRTUAL_imagenet256_labeled.npz or pytorch-fid's stats). When a file holds precomputed
        statistics they are used as they are (as ADM's evaluator does). Two sides whose files record
        different resize modes are refused; when one records none (another tool's file), a note says
        which mode the other side used and how to match it. Images read before are served from the
        feature cache (`dimr-eval cache list`; --no-cache skips it).
        """)

    @Argument(help: "First input.") var a: String
    @Argument(help: "Second input.") var b: String
    @OptionGroup var inception: InceptionOptions
    @Flag(help: "Print JSON: {\"fid\": …, \"notes\": […], \"cache\": {…}}.") var json = false

    struct Output: Encodable {
        var fid: Double
        /// What could not be checked about the two sides' preprocessing.
        var notes: [String]
        /// How the feature cache served each side that is images ("a", "b").
        var cache: [String: FeatureCacheUse]
    }

    func run() throws {
        let provider = try inception.provider()
        let inputs = try [a, b].map { try EvalInput(URL(fileURLWithPath: $0)) }
        try EvalInput.prepare(inputs, provider, needsNetwork: { $0.needsNetworkForStatistics }, check: { try $0.checkStatisticsPossible() })
        let notes = try checkPreprocessing(inputs[0].statisticsOrigin(provider), inputs[1].statisticsOrigin(provider))
        let first = try inputs[0].statistics(provider)
        let second = try inputs[1].statistics(provider)
        guard first.pool.dimension == second.pool.dimension else {
            throw ValidationError("\(a) has \(first.pool.dimension)-d statistics but \(b) has \(second.pool.dimension)-d; FID compares features of the same layer (pool3: 2048)")
        }
        let fid = try frechetDistance(first.pool, second.pool)
        var cache: [String: FeatureCacheUse] = [:]
        for (name, input) in zip(["a", "b"], inputs) { cache[name] = input.cacheUse }
        if json { print(try jsonText(Output(fid: fid, notes: notes, cache: cache), style: .document)); return }
        print(String(format: "FID: %.6f", fid))
        for note in notes { print("note: \(note)") }
    }
}

/// How images become features, shared by every command that may read images.
struct InceptionOptions: ParsableArguments {
    @Option(help: "Inception weights: TorchScript default_1.pt, pytorch-fid's .pth or a dimr-eval safetensors export (default: the cached default_1.pt).")
    var weights: String?
    @Option(help: "Resize to 299: adm (TF-1 legacy bilinear, the default), clean (clean-fid PIL bicubic) or pytorch (half-pixel bilinear).")
    var resize: ResizeMode = .adm
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per network batch.") var batchSize = 16
    @Flag(name: .customLong("no-cache"), help: "Neither read nor store features in the feature cache ($DIMR_EVAL_CACHE/features).")
    var noCache = false

    /// `cached: false` leaves the feature cache out whatever --no-cache says (`features --shard`).
    func provider(progress: Bool = true, cached: Bool = true) throws -> ExtractorProvider {
        ExtractorProvider(weights: weights.map { URL(fileURLWithPath: $0) }, resize: resize, batchSize: batchSize, progress: progress,
                          cache: noCache || !cached ? nil : try FeatureCache())
    }

    func validate() throws {
        try requirePositive(batchSize, "--batch-size")
    }
}

/// For `InceptionOptions.resize`, the one --resize of every command.
extension ResizeMode: ExpressibleByArgument {}
