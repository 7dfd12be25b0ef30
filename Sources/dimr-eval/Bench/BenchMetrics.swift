import ArgumentParser
import Eval
import Foundation
import TensorCore
import TensorIO

/// k-NN precision/recall and FID-from-statistics timings, next to numpy/scipy doing the same
/// work on the same data in a subprocess of this run (the anchors venv, /tmp/anchors or $ANCHORS).
struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "k-NN precision/recall and FID-from-stats timings vs numpy/scipy (ratios), optional 50k figure.")

    @Option(help: "Images per side for the k-NN comparison.") var n = 10000
    @Option(help: "Feature dimension.") var dimension = 2048
    @Flag(name: .customLong("at-50k"), help: "Also time dimr-eval's k-NN at 50,000 × 50,000 (no Python; a few minutes).")
    var at50k = false
    @Flag(name: .customLong("no-python"), help: "Skip the numpy/scipy side.") var noPython = false
    @Flag(name: .customLong("no-prdc"), help: "Skip prdc's compute_prdc (23 s at 10k).") var noPrdc = false
    @Option(help: "Timed runs of each dimr-eval measurement (the fastest is reported; the machine is shared).")
    var repeats = 2
    @Flag(help: "Print JSON.") var json = false

    struct Timing: Codable {
        var name: String
        var dimrSeconds: Double
        var referenceName: String?
        var referenceSeconds: Double?
        var speedup: Double?
    }

    struct Report: Codable {
        var blas: BenchBLAS
        var n: Int
        var dimension: Int
        var timings: [Timing]
        var knn50kSeconds: Double?
        var knn50kPrecisionRecallSeconds: Double?
        var precisionRecall50k: [Double]?
        var precisionRecall: [Double]
        var referencePrecisionRecall: [Double]?
        var fid: Double
        var referenceFid: Double?
        var pythonNote: String?
    }

    func validate() throws {
        guard n >= 10, dimension >= 1, repeats >= 1 else { throw ValidationError("--n must be ≥ 10, --dimension and --repeats ≥ 1") }
    }

    func run() throws {
        let blas = try BenchBLAS.current()
        let real = features(n, seed: 1, shift: 0), fake = features(n, seed: 2, shift: 0.05)
        // k-NN: ADM precision/recall (three blocked passes), as numpy's straightforward version does.
        var result: ManifoldEstimator.Result?
        let knnSeconds = try bestSeconds(repeats: repeats) { result = try ManifoldEstimator(k: 3, densityK: nil).evaluate(reference: real, samples: fake) }
        let pr = result!
        var prdcSeconds = 0.0
        if !noPrdc { prdcSeconds = try bestSeconds(repeats: repeats) { _ = try ManifoldEstimator(k: 3, densityK: 5).evaluate(reference: real, samples: fake) } }
        let statsA = try moments(real).gaussian(), statsB = try moments(fake).gaussian()
        var fid = 0.0
        let fidSeconds = try bestSeconds(repeats: repeats) { fid = try frechetDistance(statsA, statsB) }

        var timings = [Timing(name: "precision/recall k=3, \(n)×\(n)×\(dimension)", dimrSeconds: knnSeconds),
                       Timing(name: "FID from statistics, \(dimension)²", dimrSeconds: fidSeconds)]
        if !noPrdc { timings.insert(Timing(name: "P/R + density/coverage, \(n)×\(n)", dimrSeconds: prdcSeconds), at: 1) }
        var report = Report(blas: blas, n: n, dimension: dimension, timings: timings, precisionRecall: [pr.precision, pr.recall], fid: fid)

        if !noPython {
            do {
                let py = try runReference(real: real, fake: fake, statsA: statsA, statsB: statsB)
                func attach(_ index: Int, _ name: String, _ key: String) {
                    guard index < report.timings.count, let s = py[key] as? Double else { return }
                    report.timings[index].referenceName = name
                    report.timings[index].referenceSeconds = s
                    report.timings[index].speedup = s / report.timings[index].dimrSeconds
                }
                attach(0, "numpy (anchors reference.manifold_pr)", "knn")
                if !noPrdc { attach(1, "prdc.compute_prdc (k=5)", "prdc") }
                attach(noPrdc ? 1 : 2, "scipy sqrtm (ADM formula)", "fid_scipy")
                if let s = py["fid_pytorch"] as? Double {
                    report.timings.append(Timing(name: "FID from statistics, \(dimension)²", dimrSeconds: fidSeconds,
                                                 referenceName: "pytorch-fid calculate_frechet_distance", referenceSeconds: s,
                                                 speedup: s / fidSeconds))
                }
                report.referencePrecisionRecall = py["pr"] as? [Double]
                report.referenceFid = py["fid"] as? Double
            } catch {
                report.pythonNote = "numpy/scipy side not run: \(error)"
            }
        }
        if at50k {
            let big = 50_000
            let a = features(big, seed: 3, shift: 0), b = features(big, seed: 4, shift: 0.05)
            var pr50k: ManifoldEstimator.Result?
            report.knn50kPrecisionRecallSeconds = try secondsElapsed { pr50k = try ManifoldEstimator(k: 3, densityK: nil).evaluate(reference: a, samples: b) }
            report.knn50kSeconds = try secondsElapsed { _ = try ManifoldEstimator(k: 3, densityK: 5).evaluate(reference: a, samples: b) }
            report.precisionRecall50k = pr50k.map { [$0.precision, $0.recall] }
        }
        if json { print(try jsonText(report, style: .document)); return }
        print(blas.line)
        for t in report.timings {
            var line = t.name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "dimr-eval %7.2f s", t.dimrSeconds)
            if let name = t.referenceName, let s = t.referenceSeconds, let x = t.speedup {
                line += String(format: "   %@ %7.2f s   ×%.1f", name, s, x)
            }
            print(line)
        }
        print(String(format: "precision/recall %.4f/%.4f", pr.precision, pr.recall)
              + (report.referencePrecisionRecall.map { String(format: " (numpy %.4f/%.4f)", $0[0], $0[1]) } ?? "")
              + String(format: "; FID %.6f", fid) + (report.referenceFid.map { String(format: " (scipy %.6f)", $0) } ?? ""))
        if let s = report.knn50kPrecisionRecallSeconds, let pr = report.precisionRecall50k {
            print(String(format: "precision/recall at 50,000 × 50,000 × %d: %.1f s (precision %.4f, recall %.4f)", dimension, s, pr[0], pr[1]))
        }
        if let s = report.knn50kSeconds { print(String(format: "P/R + density/coverage at 50,000 × 50,000 × %d: %.1f s", dimension, s)) }
        if let note = report.pythonNote { print(note) }
    }

    /// Pool3-like features: non-negative, correlated through a few shared directions.
    private func features(_ count: Int, seed: UInt64, shift: Float) -> Tensor {
        let x = benchTensor([count, dimension], seed: seed), z = benchTensor([count, 8], seed: seed + 100)
        let basis = benchTensor([8, dimension], seed: 7)
        BLAS.sgemm(m: count, n: dimension, k: 8, alpha: 0.5, a: z.data, lda: 8, b: basis.data, ldb: dimension,
                   beta: 0.3, c: x.data, ldc: dimension)
        for i in 0..<x.count { x.data[i] = max(x.data[i] + 0.4 + shift, 0) }
        return x
    }

    private func moments(_ x: Tensor) -> FeatureMoments {
        let acc = MomentAccumulator(dimension: x.shape[1])
        acc.add(x.data, rows: x.shape[0])
        return acc.finish()
    }

    /// Writes the inputs to a temporary folder and times the reference implementations there
    /// (scripts/bench/metrics_reference.py).
    private func runReference(real: Tensor, fake: Tensor, statsA: GaussianStatistics, statsB: GaussianStatistics) throws -> [String: Any] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dimr-bench-metrics-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeNpy(NpyArray(real), to: dir.appendingPathComponent("real.npy"))
        try writeNpy(NpyArray(fake), to: dir.appendingPathComponent("fake.npy"))
        try StatisticsFile(pool: statsA, spatial: nil).write(to: dir.appendingPathComponent("a.npz"))
        try StatisticsFile(pool: statsB, spatial: nil).write(to: dir.appendingPathComponent("b.npz"))
        let kit = ProcessInfo.processInfo.environment["ANCHORS_KIT"] ?? "../shared/anchors"
        // numpy's BLAS threads come from OMP_NUM_THREADS, which the runner sets
        let line = try runReferenceScript("metrics_reference.py", [dir.path, "--anchors-kit", kit] + (noPrdc ? ["--no-prdc"] : []),
                                          threads: BLAS.threads)
        guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw BenchError("scripts/bench/metrics_reference.py printed no JSON object")
        }
        return object
    }
}
