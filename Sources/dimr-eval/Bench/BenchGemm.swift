import ArgumentParser
import Foundation
import TensorCore
import TensorIO

/// sgemm GFLOP/s through the tensor core's BLAS: a large square product (the machine's rate) and
/// the shapes Inception's convolutions turn into.
struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "sgemm GFLOP/s: n³ and Inception-typical shapes, best of N, with the BLAS core named.")

    @Option(help: "Size n of the square n×n×n product.") var size = 2048
    @Option(help: "Timed runs per shape (the best is reported).") var repeats = 5
    @Flag(help: "Print JSON.") var json = false

    struct Row: Codable {
        var name: String
        var m: Int, n: Int, k: Int
        var calls: Int        // GEMMs per timed run (one per image of a batch)
        var seconds: Double   // best timed run
        var gflops: Double
        var ratioToSquare: Double
    }

    struct Report: Codable {
        var blas: BenchBLAS
        var squareSize: Int
        var squareGflops: Double
        var shapes: [Row]
    }

    /// (name, M, N, K, calls): per-image GEMMs of Inception-v3 layers at batch 16.
    static let inceptionShapes: [(String, Int, Int, Int, Int)] = [
        ("35x35 288→64 1x1", 64, 35 * 35, 288, 16),
        ("17x17 768→192 1x7 (im2col)", 192, 17 * 17, 768 * 7, 16),
        ("147x147 32→64 3x3 (im2col)", 64, 147 * 147, 32 * 9, 4),
        ("8x8 2048→320 1x1", 320, 64, 2048, 16),
    ]

    func validate() throws {
        guard size > 0 else { throw ValidationError("--size must be positive, got \(size)") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive, got \(repeats)") }
    }

    func run() throws {
        let blas = try BenchBLAS.current()
        let square = squareSgemmRate(n: size, repeats: repeats)
        var rows = [Row(name: "\(size)³", m: size, n: size, k: size, calls: 1, seconds: square.seconds,
                        gflops: square.gflops, ratioToSquare: 1)]
        for (name, m, n, k, calls) in Self.inceptionShapes {
            let a = benchTensor([m, k], seed: 3), b = benchTensor([calls, k, n], seed: 4)
            let c = Tensor(uninitialized: [calls, m, n])
            let seconds = bestSeconds(repeats: repeats, warmup: 1) {
                for i in 0..<calls {
                    BLAS.sgemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data + i * k * n, ldb: n,
                               c: c.data + i * m * n, ldc: n)
                }
            }
            let gflops = 2 * Double(m * n * k * calls) / seconds / 1e9
            rows.append(Row(name: name, m: m, n: n, k: k, calls: calls, seconds: seconds, gflops: gflops,
                            ratioToSquare: gflops / square.gflops))
        }
        let report = Report(blas: blas, squareSize: size, squareGflops: square.gflops, shapes: rows)
        if json { print(try jsonText(report, style: .document)); return }
        print(blas.line)
        print("shape".padding(toLength: 30, withPad: " ", startingAt: 0) + "       M       N       K  calls   GFLOP/s  vs \(size)³")
        for r in rows {
            print(r.name.padding(toLength: 30, withPad: " ", startingAt: 0)
                  + String(format: "%8d%8d%8d%7d%10.1f%9.2f", r.m, r.n, r.k, r.calls, r.gflops, r.ratioToSquare))
        }
    }
}
