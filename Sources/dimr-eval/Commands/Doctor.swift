import ArgumentParser
import CFFTW
import CJPEG
import CPNG
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// What a bug report needs: versions, the BLAS core and threads, which weights were found, cache paths.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Versions, BLAS core and threads, weights found, cache paths.")

    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var version: String
        var swift: String
        var cpu: String
        var cores: Int
        var blas: BLAS.Info
        var libjpegTurbo: String
        var libpng: String
        var fftw: String
        var cacheDirectory: String
        /// The feature cache folder (`dimr-eval cache list`).
        var featureCache: String
        var weights: [WeightsLocator.Candidate]
    }


    func run() throws {
        let report = Report(
            version: dimrEvalVersion,
            swift: swiftCompilerVersion,
            cpu: cpuModelName(),
            cores: ProcessInfo.processInfo.activeProcessorCount,
            blas: BLAS.info,
            libjpegTurbo: "\(LIBJPEG_TURBO_VERSION_NUMBER / 1_000_000).\(LIBJPEG_TURBO_VERSION_NUMBER / 1000 % 1000).\(LIBJPEG_TURBO_VERSION_NUMBER % 1000)",
            libpng: String(cString: png_get_libpng_ver(nil)),
            fftw: fftwVersion(),
            cacheDirectory: WeightsLocator.cacheDirectory.path,
            featureCache: FeatureCache.defaultRoot.path,
            weights: WeightsLocator.candidates())
        if json { print(try jsonText(report, style: .document)); return }
        print("dimr-eval \(report.version) (\(report.swift))")
        print("CPU          \(report.cpu), \(report.cores) cores")
        if report.blas.loaded {
            let why = report.blas.coreFromUser ? "set by OPENBLAS_CORETYPE in your environment"
                : report.blas.requestedCore.map { "chosen by dimr-eval for this CPU: \($0)" } ?? "OpenBLAS's own detection"
            print("BLAS core    \(report.blas.core) (\(why)), \(report.blas.threads) threads")
            print("BLAS build   \(report.blas.config)")
        } else {
            print("BLAS         NOT LOADED: \(report.blas.error ?? "?")")
        }
        print("libjpeg      libjpeg-turbo \(report.libjpegTurbo)")
        print("libpng       \(report.libpng)")
        print("FFTW         \(report.fftw)")
        print("cache        \(report.cacheDirectory)")
        print("features     \(report.featureCache) (feature cache: dimr-eval cache list)")
        for w in report.weights {
            print("weights      \(w.exists ? "found  " : "missing") \(w.path) (\(w.origin))")
        }
        if !report.weights.contains(where: { $0.exists }) {
            print("             run scripts/setup.sh to fetch and verify the FID Inception weights")
        }
    }
}

#if compiler(>=6.3)
let swiftCompilerVersion = "Swift 6.3+"
#else
let swiftCompilerVersion = "Swift 6.x"
#endif

func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
    return "unknown"
}

/// `fftwf_version` is a C array of unknown size, which Swift cannot import; look the symbol up instead.
func fftwVersion() -> String {
    _ = fftwf_alignment_of(nil)  // keeps libfftw3f linked and loaded
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fftwf_version") else { return "unknown" }
    return String(cString: symbol.assumingMemoryBound(to: CChar.self))
}
