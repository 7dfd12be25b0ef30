import Eval
import Foundation
import TensorIO

/// The parsers of user files, each as a fuzz target: bytes in, the public reader run on them.
/// A target may throw (a clear error is the right answer to a broken file); it must never trap,
/// read out of bounds or allocate without bound. `scripts/fuzz.sh` builds this file with
/// libFuzzer (`-sanitize=fuzzer,address -DLIBFUZZER`); built normally it replays files
/// (`dimr-eval-fuzz TARGET FILE…`), which is how the regression inputs run in the tests.
enum FuzzTarget: String, CaseIterable {
    case npy, npz, pickle, torch, safetensors, jpeg, png, stats, features

    /// Decoded images are capped at 4 M pixels here (1 << 28 in normal use), so that a header
    /// claiming a huge image costs the fuzzer no more than 12 MB.
    static let maxPixels = 1 << 22

    /// The file extension its reader expects (EvalInput tells npz files by name).
    var fileExtension: String {
        switch self {
        case .npy: "npy"
        case .npz, .stats, .features: "npz"
        case .pickle: "pkl"
        case .torch: "pt"
        case .safetensors: "safetensors"
        case .jpeg: "jpg"
        case .png: "png"
        }
    }

    func run(_ data: [UInt8]) {
        do {
            switch self {
            case .pickle:
                var unpickler = Unpickler(data, file: "fuzz")
                while unpickler.end < data.count { _ = try unpickler.load() }   // several pickles back to back, as legacy torch files
            case .jpeg: _ = try decodeJPEG(data, maxPixels: FuzzTarget.maxPixels)
            case .png: _ = try decodePNG(data, maxPixels: FuzzTarget.maxPixels)
            default: try withFile(data) { try runOnFile($0) }
            }
        } catch {}
    }

    private func runOnFile(_ url: URL) throws {
        switch self {
        case .npy:
            _ = try readNpy(url)
        case .npz:
            let npz = try NpzFile(contentsOf: url)
            for name in npz.names {
                _ = try? npz.array(name)
                try? npz.streamRows(name, rowsPerChunk: 3) { _, _, _ in }
            }
            _ = try? ImageArraySource(npz: url).forEachBatch(size: 4) { _, _ in }
        case .torch:
            let checkpoint = try TorchCheckpoint(contentsOf: url)
            _ = try? checkpoint.tensors()
            _ = try? checkpoint.member("code/__torch__/x.py")
        case .safetensors:
            _ = try readSafetensorsArrays(url)
        case .stats:
            let stats = try StatisticsFile.read(url)
            _ = try? frechetDistance(stats.pool, stats.pool)
            _ = try? stats.moments(url)
        case .features:
            let input = try EvalInput(url)
            try? input.checkStatisticsPossible()
            if input.hasFeatures {
                let npz = try NpzFile(contentsOf: url)
                _ = try? FeaturesFile.meta(npz)
                _ = try? input.features(ExtractorProvider(progress: false))
            } else if input.hasStatistics {
                _ = try? input.statistics(ExtractorProvider(progress: false))
            }
        case .pickle, .jpeg, .png:
            break
        }
    }

    /// The bytes as a file (in /dev/shm when there is one): the readers take paths, and fuzzing
    /// them through their real entry points tests what users run.
    private func withFile(_ data: [UInt8], _ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: folder).appendingPathComponent("dimr-eval-fuzz-\(getpid()).\(fileExtension)")
        guard FileManager.default.createFile(atPath: url.path, contents: Data(data)) else { return }
        defer { unlink(url.path) }
        try body(url)
    }
}

/// The target a fuzzing process runs, from $DIMR_FUZZ_TARGET.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["DIMR_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("DIMR_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

#if LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    selectedTarget.run(data)
    return 0
}

/// SwiftPM links an executable target's entry point as `<module>_main` (and aliases `main` to
/// it), so libFuzzer's own `main` is not used: this one hands over to libFuzzer's driver,
/// `LLVMFuzzerRunDriver`, found in the linked runtime by name (a C function, called as one).
@_cdecl("dimr_eval_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    typealias Driver = @convention(c) (UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                       Callback) -> CInt
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
        FileHandle.standardError.write(Data("LLVMFuzzerRunDriver not found: build with -sanitize=fuzzer (scripts/fuzz.sh)\n".utf8))
        return 2
    }
    _ = selectedTarget   // refuse a missing DIMR_FUZZ_TARGET before libFuzzer starts
    var count = argc, arguments = argv
    return unsafeBitCast(symbol, to: Driver.self)(&count, &arguments, fuzzOneInput)
}
#else
/// `dimr-eval-fuzz TARGET FILE…`: runs the target on each file (a crash is a failed run).
@main
struct Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: dimr-eval-fuzz {\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ","))} FILE…")
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { print("cannot read \(path)"); exit(2) }
            target.run([UInt8](data))
        }
        print("\(target.rawValue): \(arguments.count - 1) inputs, no crash")
    }
}
#endif
