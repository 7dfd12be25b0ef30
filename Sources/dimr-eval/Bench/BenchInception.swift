import ArgumentParser
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// Images/s of the whole feature pipeline (uint8 256×256 → resize → Inception → pool3), next to
/// PyTorch running the same network with the same preprocessing on the same cores, in the same
/// run, when the anchors venv is present; and peak RSS while streaming a large batch.
///
/// PyTorch runs two ways, and the ratio is taken against the faster: the TorchScript file as
/// loaded (`default_1.pt`, NCHW), and pytorch-fid's eager `InceptionV3` holding the same weights
/// (`weights export --format pth`) in channels-last memory format, which lets PyTorch use its
/// oneDNN convolutions: ~1.4× the TorchScript rate on the 2-core Zen. (`torch.compile` of the
/// eager model was measured once at ~5.9 img/s against channels-last's ~5.5, after 74 s of
/// compiling; too slow to compile for a benchmark round.)
struct BenchInception: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inception",
        abstract: "Inception feature extraction images/s vs PyTorch, and peak memory while streaming.")

    @Option(help: "Images timed (256x256, generated).") var images = 32
    @Option(help: "Images per network batch.") var batchSize = 16
    @Option(help: "Also stream this many generated 256x256 images through the extractor and report peak RSS (0: skip).")
    var stream = 0
    @Option(help: "Weights file (default: the usual search).") var weights: String?
    @Flag(help: "Skip the PyTorch comparison.") var noPytorch = false
    @Option(help: "Rounds, each timing dimr-eval then PyTorch; the median of each side and of the per-round ratios is reported (the host's load drifts between runs).")
    var rounds = 3
    @Flag(help: "Also print each network stage's time per image (summed over the rounds).") var stages = false
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var blas: BenchBLAS
        var images: Int
        var batchSize: Int
        var seconds: Double
        var imagesPerSecond: Double
        /// The faster PyTorch configuration's median rate, and its name.
        var pytorchImagesPerSecond: Double?
        var pytorchConfiguration: String?
        /// Median rate of each PyTorch configuration ("torchscript", "pytorch-fid channels-last").
        var pytorchConfigurations: [String: Double]?
        /// Largest |pool3 difference| between the two PyTorch configurations on two images (the
        /// eager model really is the same network).
        var pytorchPoolDifference: Double?
        var pytorchThreads: Int?
        var pytorchNote: String?
        /// Median over the rounds of dimr-eval ÷ the faster PyTorch configuration in that round.
        var ratioToPytorch: Double?
        /// The same against each configuration.
        var ratioToPytorchConfigurations: [String: Double]?
        /// per round: [dimr-eval img/s, the faster PyTorch configuration's img/s (0 when not run)]
        var roundRates: [[Double]]?
        var streamedImages: Int?
        var streamSeconds: Double?
        var peakRSSMegabytes: Double
        /// 2048³ sgemm on this machine now, and the images/s it would allow if every convolution
        /// ran at that rate (`flopsPerImage` per 299×299 image) and nothing else cost time.
        var sgemmGflops: Double?
        var sgemmBoundImagesPerSecond: Double?
        /// The same bound for the GEMM work left once the stride-1 layers run through Winograd
        /// (`winogradGemmFlopsPerImage`): the most this implementation could do, with every other
        /// cost (transforms, packing, im2col, pooling, resize) at zero.
        var winogradBoundImagesPerSecond: Double?
        /// That bound over PyTorch's measured rate.
        var winogradBoundRatioToPytorch: Double?
        /// The GEMM floor, measured: the sgemm calls one batch makes (`gemmFloorCalls` of them,
        /// `gemmFloorGflopsPerImage`), replayed alone through OpenBLAS on all cores, best of three.
        /// What this design (OpenBLAS doing the GEMMs) could reach with every other cost at zero.
        var gemmFloorImagesPerSecond: Double?
        var gemmFloorCalls: Int?
        var gemmFloorGflopsPerImage: Double?
        /// The floor over PyTorch's measured rate: the highest ratio to PyTorch within reach.
        var gemmFloorRatioToPytorch: Double?
        /// --stages: milliseconds per image of each stage, in network order
        var stages: [Stage]?
        struct Stage: Codable {
            var name: String
            var millisecondsPerImage: Double
            /// The stage's own sgemm calls replayed alone (see `gemmFloorImagesPerSecond`).
            var gemmFloorMillisecondsPerImage: Double?
        }
    }

    /// Multiply-adds of the FID Inception's convolutions at 299×299, ×2 for FLOPs; and of the GEMMs
    /// left when the stride-1 3×3, 5×5, 1×n and n×1 layers run through Winograd (F(4×4, 3×3),
    /// F(4×4, 5×5), F(6, 7), F(4, 3)). Both counted layer by layer by `scripts/bench/inception_macs.py`.
    static let flopsPerImage = 2 * 5_711_168_096.0
    static let winogradGemmFlopsPerImage = 2 * 2_744_272_736.0

    func validate() throws {
        guard images > 0, batchSize > 0, stream >= 0, rounds >= 1 else {
            throw ValidationError("--images, --batch-size and --rounds must be positive, --stream ≥ 0")
        }
    }

    func run() throws {
        let blas = try BenchBLAS.current()
        let extractor = try FeatureExtractor(weights: weights.map { URL(fileURLWithPath: $0) }, resize: .adm, batchSize: batchSize)
        let batch = (0..<images).map { syntheticImage(seed: UInt64($0), size: 256) }
        let firstBatch = Array(batch.prefix(min(batchSize, images)))
        // One untimed batch, which warms up (page faults, workspaces) and records its sgemm calls
        // for the GEMM floor; the stages' boundaries in the recording: (stage, calls by its end).
        var callsByStageEnd: [(name: String, end: Int)] = []
        let gemmCalls = try BLAS.recordingSgemmCalls {
            try extractor.features(of: firstBatch, stageTimer: { name, _ in callsByStageEnd.append((name, BLAS.recordedSgemmCallCount)) })
        }.calls
        // Rounds alternate the two sides, so a slow spell of the shared host hits both.
        var ours: [Double] = [], theirs: [Double] = [], ratios: [Double] = []
        var byConfiguration: [String: [Double]] = [:], ratiosByConfiguration: [String: [Double]] = [:]
        var poolDifference: Double?
        var pytorchNote: String?
        var eagerWeights: URL?, eagerNote: String?
        if !noPytorch {
            do { eagerWeights = try exportPytorchFIDWeights(extractor.weights.url) } catch { eagerNote = "could not export its weights: \(error)" }
        }
        defer { if let eagerWeights { try? FileManager.default.removeItem(at: eagerWeights) } }
        // PyTorch's TorchScript side needs the .pt file; other weight formats fall back to the cached one.
        let torchScriptWeights = extractor.weightsFormat == .torchScript ? extractor.weights.url
            : WeightsLocator.cacheDirectory.appendingPathComponent("default_1.pt")
        var stageNames: [String] = [], stageSeconds: [String: Double] = [:]
        let timer: ((String, TimeInterval) -> Void)? = stages ? { name, seconds in
            if stageSeconds[name] == nil { stageNames.append(name) }
            stageSeconds[name, default: 0] += seconds
        } : nil
        for _ in 0..<rounds {
            ours.append(Double(images) / (try secondsElapsed { _ = try extractor.features(of: batch, stageTimer: timer) }))
            guard !noPytorch, pytorchNote == nil else { continue }
            switch pytorchRates(torchScriptWeights: torchScriptWeights, eagerWeights: eagerWeights, threads: blas.threads) {
            case .success(let answer):
                for (name, rate) in answer.rates {
                    byConfiguration[name, default: []].append(rate)
                    ratiosByConfiguration[name, default: []].append(ours.last! / rate)
                }
                let best = answer.rates.values.max()!
                theirs.append(best); ratios.append(ours.last! / best)
                poolDifference = answer.poolDifference ?? poolDifference
                eagerNote = answer.skipped ?? eagerNote
            case .failure(let error): pytorchNote = "\(error)"
            }
        }
        var report = Report(blas: blas, images: images, batchSize: batchSize, seconds: Double(images) / median(ours),
                            imagesPerSecond: median(ours), peakRSSMegabytes: peakRSSMegabytes())
        report.roundRates = ours.indices.map { [ours[$0], $0 < theirs.count ? theirs[$0] : 0] }
        let sgemm = squareSgemmRate(n: 2048, repeats: 2).gflops
        report.sgemmGflops = sgemm
        report.sgemmBoundImagesPerSecond = sgemm * 1e9 / Self.flopsPerImage
        report.winogradBoundImagesPerSecond = sgemm * 1e9 / Self.winogradGemmFlopsPerImage
        let floorSeconds = (0..<3).map { _ in BLAS.replaySgemmCalls(gemmCalls) }.min()!
        report.gemmFloorImagesPerSecond = Double(firstBatch.count) / floorSeconds
        report.gemmFloorCalls = gemmCalls.count
        report.gemmFloorGflopsPerImage = gemmCalls.map(\.flops).reduce(0, +) / 1e9 / Double(firstBatch.count)
        if !theirs.isEmpty {
            report.pytorchConfigurations = byConfiguration.mapValues(median)
            let fastest = report.pytorchConfigurations!.max { $0.value < $1.value }!
            report.pytorchConfiguration = fastest.key
            report.pytorchImagesPerSecond = median(theirs)
            report.pytorchPoolDifference = poolDifference
            report.pytorchThreads = blas.threads
            report.ratioToPytorch = median(ratios)
            report.ratioToPytorchConfigurations = ratiosByConfiguration.mapValues(median)
            report.winogradBoundRatioToPytorch = report.winogradBoundImagesPerSecond! / median(theirs)
            report.gemmFloorRatioToPytorch = report.gemmFloorImagesPerSecond! / median(theirs)
        }
        report.pytorchNote = pytorchNote ?? eagerNote.map { "pytorch-fid channels-last not run: " + $0 }
        if stages {
            var floorByStage: [String: Double] = [:], start = 0
            for (name, end) in callsByStageEnd {
                let calls = Array(gemmCalls[start..<end])
                floorByStage[name] = 1000 * (0..<3).map { _ in BLAS.replaySgemmCalls(calls) }.min()! / Double(firstBatch.count)
                start = end
            }
            report.stages = stageNames.map {
                Report.Stage(name: $0, millisecondsPerImage: 1000 * stageSeconds[$0]! / Double(rounds * images),
                             gemmFloorMillisecondsPerImage: floorByStage[$0])
            }
        }
        if !json {
            print(blas.line)
            for (i, r) in report.roundRates!.enumerated() {
                print(String(format: "round %d    dimr-eval %.2f img/s", i + 1, r[0]) + (r[1] > 0 ? String(format: ", PyTorch (faster configuration) %.2f img/s, ratio %.2fx", r[1], r[0] / r[1]) : ""))
            }
            print(String(format: "dimr-eval  %.2f img/s (median of %d rounds; %d images 256x256 → pool3, batch %d)", report.imagesPerSecond, rounds, images, batchSize))
            // Winograd layers do fewer multiplies than the direct convolution, so the pipeline can pass
            // the GEMM-only bound; the line says how far the 3x3, 1x7, 7x1, 1x3 and 3x1 layers take it.
            print(String(format: "GEMM bound %.2f img/s if every conv were a GEMM at sgemm 2048³'s %.1f GFLOP/s (%.1f GFLOP/image) → at %.0f%% of it",
                         report.sgemmBoundImagesPerSecond!, sgemm, Self.flopsPerImage / 1e9,
                         100 * report.imagesPerSecond / report.sgemmBoundImagesPerSecond!))
            print(String(format: "Winograd bound %.2f img/s for the GEMMs left after Winograd (%.1f GFLOP/image) at the same rate, nothing else costing time → at %.0f%% of it",
                         report.winogradBoundImagesPerSecond!, Self.winogradGemmFlopsPerImage / 1e9,
                         100 * report.imagesPerSecond / report.winogradBoundImagesPerSecond!))
            // The measured version of that bound: the batch's real GEMMs (narrow Winograd chunks, 8×8
            // maps, OpenBLAS's packing on every call) with nothing in between.
            print(String(format: "GEMM floor %.2f img/s: the %d sgemm calls of one batch (%.2f GFLOP/image) replayed alone through OpenBLAS, operands warm, best of 3 → at %.0f%% of it",
                         report.gemmFloorImagesPerSecond!, report.gemmFloorCalls!, report.gemmFloorGflopsPerImage!,
                         100 * report.imagesPerSecond / report.gemmFloorImagesPerSecond!))
            if let rate = report.pytorchImagesPerSecond, let ratio = report.ratioToPytorch {
                for (name, r) in report.pytorchConfigurations!.sorted(by: { $0.key > $1.key }) {
                    print("PyTorch    " + name.padding(toLength: 26, withPad: " ", startingAt: 0)
                          + String(format: " %.2f img/s (median) → ratio %.2fx", r, report.ratioToPytorchConfigurations![name]!))
                }
                print(String(format: "PyTorch    %.2f img/s, the faster (", rate) + report.pytorchConfiguration!
                      + String(format: "; same weights, torch-fidelity resize, %d threads) → ratio %.2fx (median of the rounds' ratios to the faster)", blas.threads, ratio)
                      + (report.pytorchPoolDifference.map { String(format: "; the two agree on pool3 within %.1e", $0) } ?? ""))
                print(String(format: "ceiling    %.2fx PyTorch: the GEMM floor over PyTorch's rate (%.2fx by the Winograd bound)",
                             report.gemmFloorRatioToPytorch!, report.winogradBoundRatioToPytorch!))
                if let eagerNote { print("PyTorch    pytorch-fid channels-last not run (the ratio is against TorchScript only): " + eagerNote) }
            } else if let note = pytorchNote {
                print("PyTorch    not measured: \(note)")
            }
            if let rows = report.stages {
                let total = rows.map(\.millisecondsPerImage).reduce(0, +)
                // The GEMM floor column is the stage's sgemm calls replayed alone; "rest" is
                // everything else the stage does (transforms, im2col, pooling, copies).
                print("stage                        ms/image   share   GEMM floor    rest")
                for row in rows {
                    let floor = row.gemmFloorMillisecondsPerImage ?? 0
                    print(row.name.padding(toLength: 28, withPad: " ", startingAt: 0)
                          + String(format: "%9.2f   %4.1f%%   %10.2f %7.2f", row.millisecondsPerImage,
                                   100 * row.millisecondsPerImage / total, floor, row.millisecondsPerImage - floor))
                }
                let floorTotal = rows.compactMap(\.gemmFloorMillisecondsPerImage).reduce(0, +)
                print("total".padding(toLength: 28, withPad: " ", startingAt: 0)
                      + String(format: "%9.2f           %10.2f %7.2f", total, floorTotal, total - floorTotal))
            }
        }

        if stream > 0 {
            let source = SyntheticImageSource(count: stream, size: 256)
            var checksum = 0.0
            report.streamSeconds = try secondsElapsed {
                try extractor.extract(source, progress: !json) { b in checksum += Double(b.pool.first ?? 0) }
            }
            report.streamedImages = stream
            if !json { print(String(format: "streamed   %d images in %.1f s (%.2f img/s)", stream, report.streamSeconds!, Double(stream) / report.streamSeconds!)) }
        }
        report.peakRSSMegabytes = peakRSSMegabytes()
        if json { print(try jsonText(report, style: .document)); return }
        print(String(format: "peak RSS   %.0f MB", report.peakRSSMegabytes))
    }

    /// pytorch-fid's state dict of the same weights, in a temporary file.
    private func exportPytorchFIDWeights(_ url: URL) throws -> URL {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dimr-bench-\(getpid())-pytorch-fid.pth")
        try writeTorchStateDict(pytorchFIDStateDict(try InceptionWeights.load(url)), to: out)
        return out
    }

    struct PytorchAnswer: Decodable { var rates: [String: Double]; var poolDifference: Double?; var skipped: String? }

    /// Runs the anchors venv's PyTorch on the same work: `images` generated 256×256 uint8 images,
    /// torch-fidelity's TF-1 bilinear to 299, (x − 128)/128, batch `batchSize`, through the
    /// TorchScript network and (given `eagerWeights`) pytorch-fid's eager model in channels-last.
    private func pytorchRates(torchScriptWeights: URL, eagerWeights: URL?, threads: Int) -> Result<PytorchAnswer, BenchError> {
        do {
            let line = try runReferenceScript("inception_torch.py",
                                              ["--images", "\(images)", "--batch-size", "\(batchSize)", "--threads", "\(threads)",
                                               torchScriptWeights.path] + (eagerWeights.map { [$0.path] } ?? []), threads: threads)
            let answer = try JSONDecoder().decode(PytorchAnswer.self, from: line)
            guard !answer.rates.isEmpty else { return .failure(BenchError("the PyTorch run timed nothing")) }
            return .success(answer)
        } catch let error as BenchError { return .failure(error) } catch { return .failure(BenchError("the PyTorch answer was not understood: \(error)")) }
    }
}


/// Peak resident set size of this process so far (Linux reports ru_maxrss in kilobytes).
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// A deterministic image with smooth structure and noise (xorshift), so the network sees varied input.
func syntheticImage(seed: UInt64, size: Int) -> RGBImage {
    var state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
    func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    let fx = Double(next() % 7 + 1), fy = Double(next() % 5 + 1)
    var pixels = [UInt8](repeating: 0, count: size * size * 3)
    for y in 0..<size {
        for x in 0..<size {
            for c in 0..<3 {
                let v = 128 + 80 * sin(Double(x) * fx / Double(size) * 3 + Double(c)) * cos(Double(y) * fy / Double(size) * 3)
                    + Double(Int(next() % 33) - 16)
                pixels[(y * size + x) * 3 + c] = UInt8(max(0, min(255, v)))
            }
        }
    }
    return RGBImage(width: size, height: size, pixels: pixels)
}

/// Images generated on the fly, one batch at a time: a stand-in for a 50 000-image .npz.
struct SyntheticImageSource: ImageSource {
    let count: Int
    let size: Int
    /// A few distinct images, reused: generating 50 000 would cost more than the network.
    private let distinct: [RGBImage]
    var url: URL { URL(fileURLWithPath: "/dev/null/synthetic-\(count)x\(size)") }
    var labels: [Int]? { nil }

    init(count: Int, size: Int) {
        self.count = count; self.size = size
        distinct = (0..<8).map { syntheticImage(seed: UInt64($0), size: size) }
    }

    func forEachBatch(size batch: Int, _ body: (Int, [RGBImage]) throws -> Void) throws {
        var start = 0
        while start < count {
            let end = min(start + batch, count)
            try body(start, (start..<end).map { distinct[$0 % distinct.count] })
            start = end
        }
    }
}
