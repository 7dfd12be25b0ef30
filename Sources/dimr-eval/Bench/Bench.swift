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

/// The one way the benchmarks run a reference tool: a script of `scripts/bench/` in the anchors
/// venv's Python (`$ANCHORS/bin/python`, default /tmp/anchors, where `../shared/anchors` installs
/// it), on `threads` threads, stderr discarded. The script prints one JSON object as the last
/// line of its stdout; that line is returned.
func runReferenceScript(_ name: String, _ arguments: [String], threads: Int) throws -> Data {
    let env = ProcessInfo.processInfo.environment
    let python = URL(fileURLWithPath: (env["ANCHORS"] ?? "/tmp/anchors") + "/bin/python")
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
        throw BenchError("no anchors venv at \(python.deletingLastPathComponent().deletingLastPathComponent().path) (set ANCHORS)")
    }
    let script = try benchScript(name)
    let process = Process()
    process.executableURL = python
    process.arguments = ["-W", "ignore", script.path] + arguments
    var childEnv = env
    childEnv["OMP_NUM_THREADS"] = String(threads)
    process.environment = childEnv
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { throw BenchError("could not start \(python.path): \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
        throw BenchError("\(script.path) failed (exit \(process.terminationStatus))")
    }
    return Data(line.utf8)
}

/// `scripts/bench/NAME`, found from the working directory or from the executable (`.build/release/dimr-eval`).
private func benchScript(_ name: String) throws -> URL {
    let fm = FileManager.default
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let roots = [URL(fileURLWithPath: fm.currentDirectoryPath),
                 executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()]
    for root in roots {
        let url = root.appendingPathComponent("scripts/bench/\(name)")
        if fm.fileExists(atPath: url.path) { return url }
    }
    throw BenchError("scripts/bench/\(name) not found (run from the repository root)")
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
