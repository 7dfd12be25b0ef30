import ArgumentParser
import Foundation
import TensorCore

/// `dimr-eval bench <what>`: speed checks, each a subcommand in its own file.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against the machine's BLAS and the reference tools.",
        subcommands: benchmarks)

    /// To add a benchmark: write `Bench<Name>.swift` with a `ParsableCommand` and list it here.
    static let benchmarks: [ParsableCommand.Type] = [
        BenchGemm.self,
        BenchConv.self,
        BenchInception.self,
        BenchMetrics.self,
        BenchTrain.self,
    ]
}

// MARK: - Helpers shared by the benchmarks

/// A tensor of uniform random values in -1...1 (deterministic for a given seed).
func benchTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    let t = Tensor(uninitialized: shape)
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    for i in 0..<t.count {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17  // xorshift64
        t.data[i] = Float(state >> 40) / Float(1 << 23) - 1
    }
    return t
}

/// What every benchmark reports about the BLAS it ran on.
struct BenchBLAS: Codable {
    var core: String
    var requestedCore: String?
    var coreFromUser: Bool
    var threads: Int
    var cpu: String
    var cores: Int

    static func current() throws -> BenchBLAS {
        try BLAS.ensureLoaded()
        let info = BLAS.info
        return BenchBLAS(core: info.core, requestedCore: info.requestedCore, coreFromUser: info.coreFromUser,
                         threads: info.threads, cpu: cpuModelName(), cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    var line: String {
        "BLAS core \(core)\(coreFromUser ? " (from OPENBLAS_CORETYPE)" : ""), \(threads) threads; CPU \(cpu), \(cores) cores"
    }
}

/// sgemm rate on an n×n×n product: the yardstick the other benchmarks are quoted against.
func squareSgemmRate(n: Int, repeats: Int) -> (seconds: Double, gflops: Double) {
    let a = benchTensor([n, n], seed: 1), b = benchTensor([n, n], seed: 2), c = Tensor(uninitialized: [n, n])
    let seconds = bestSeconds(repeats: repeats, warmup: 1) {
        BLAS.sgemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)
    }
    return (seconds, 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9)
}
