import Foundation
import InceptionNet
import TensorIO

/// How a file's features were made: the resize mode to 299 and the Inception weights (plus the
/// preprocessing version, `FeatureExtractor.preprocessingVersion`). dimr-eval records it in every
/// features, statistics and cache file it writes (`meta`, JSON stored as uint8, same key names in
/// each), so that two sides are compared only when made alike. Files from other tools carry none.
public struct Preprocessing: Codable, Equatable, Sendable {
    public var resize: String?
    public var weights: String?
    public var weightsFormat: String?
    public var weightsSHA1: String?
    public var preprocessingVersion: Int?

    public init(resize: ResizeMode, weights: String?, weightsFormat: String?, weightsSHA1: String?,
                preprocessingVersion: Int = FeatureExtractor.preprocessingVersion) {
        self.resize = resize.rawValue
        self.weights = weights; self.weightsFormat = weightsFormat; self.weightsSHA1 = weightsSHA1
        self.preprocessingVersion = preprocessingVersion
    }

    /// From a file's `meta` object; nil when it records neither a resize mode nor weights.
    public init?(meta: [String: Any]?) {
        guard let meta else { return nil }
        resize = meta["resize"] as? String
        weights = meta["weights"] as? String
        weightsFormat = meta["weightsFormat"] as? String
        weightsSHA1 = meta["weightsSHA1"] as? String
        preprocessingVersion = (meta["preprocessingVersion"] as? NSNumber)?.intValue
        if resize == nil && weightsSHA1 == nil { return nil }
    }

    /// The keys this adds to a `meta` object.
    public var metaFields: [String: Any] {
        var out: [String: Any] = [:]
        if let resize { out["resize"] = resize }
        if let weights { out["weights"] = weights }
        if let weightsFormat { out["weightsFormat"] = weightsFormat }
        if let weightsSHA1 { out["weightsSHA1"] = weightsSHA1 }
        if let preprocessingVersion { out["preprocessingVersion"] = preprocessingVersion }
        return out
    }
}

extension ResizeMode {
    /// Which tool preprocesses this way, for messages that tell a user how to match a file.
    public var toolDescription: String {
        switch self {
        case .adm: "TF-1 legacy bilinear: the ADM evaluator, clean-fid's legacy_tensorflow mode, torch-fidelity"
        case .clean: "PIL bicubic: clean-fid's default mode"
        case .pytorch: "half-pixel bilinear: pytorch-fid"
        }
    }
}

/// One side of a comparison, for the preprocessing check: its file name, what it records (nil
/// for files of other tools), whether its features are being computed now from images (then the
/// record is this run's `--resize` and weights), and for foreign statistics a hint at their origin.
public struct SideOrigin {
    public var name: String
    public var preprocessing: Preprocessing?
    public var readNow: Bool
    public var foreignHint: String?

    public init(name: String, preprocessing: Preprocessing?, readNow: Bool, foreignHint: String? = nil) {
        self.name = name; self.preprocessing = preprocessing; self.readNow = readNow; self.foreignHint = foreignHint
    }
}

/// Refuses two sides made with different known resize modes (FID between them mixes
/// preprocessing: e.g. pytorch-fid's stats against images read in ADM mode are 4.5e-3 off either
/// tool's number) and returns notes for what cannot be checked: a side that records nothing
/// (which mode the other side used, and how to match the tools), or different weights files.
public func checkPreprocessing(_ a: SideOrigin, _ b: SideOrigin) throws -> [String] {
    func made(_ s: SideOrigin) -> String { s.readNow ? "is read now with" : "was made with" }
    switch (a.preprocessing, b.preprocessing) {
    case let (pa?, pb?):
        var notes: [String] = []
        if let ra = pa.resize, let rb = pb.resize, ra != rb {
            let fix = a.readNow ? "pass --resize \(rb) to read \(a.name) the same way"
                : b.readNow ? "pass --resize \(ra) to read \(b.name) the same way"
                : "recompute one of them with the other's --resize"
            throw MetricError("\(a.name) \(made(a)) --resize \(ra) but \(b.name) \(made(b)) --resize \(rb): features from different preprocessing are not comparable (\(fix))")
        }
        if let wa = pa.weightsSHA1, let wb = pb.weightsSHA1, wa != wb, wa != "unknown", wb != "unknown" {
            notes.append("\(a.name) and \(b.name) come from different weights files (SHA-1 \(wa.prefix(12))… and \(wb.prefix(12))…); "
                         + "exports of the same network (safetensors, .pth) give identical features, other networks do not")
        }
        if let va = pa.preprocessingVersion, let vb = pb.preprocessingVersion, va != vb {
            notes.append("\(a.name) was made by preprocessing version \(va) and \(b.name) by version \(vb); their features may differ in the last digits")
        }
        return notes
    case (nil, nil):
        return ["neither \(a.name) nor \(b.name) records how its features were made; the score means something only if both used the same resize mode and weights"]
    case let (nil, known?), let (known?, nil):
        let foreign = a.preprocessing == nil ? a : b, other = a.preprocessing == nil ? b : a
        let mode = known.resize.flatMap(ResizeMode.init).map { "--resize \($0.rawValue) (\($0.toolDescription))" }
            ?? "--resize \(known.resize ?? "unknown")"
        return ["\(foreign.name) records no preprocessing (a file from another tool or an older dimr-eval)"
                + (foreign.foreignHint.map { "; \($0)" } ?? "") + ". \(other.name) \(made(other)) \(mode). "
                + "To match the tool that made \(foreign.name), read the other side with its mode: pytorch-fid → --resize pytorch, "
                + "clean-fid (mode \"clean\") → --resize clean, ADM's evaluator and its reference batches → --resize adm (the default)"]
    }
}

/// A guess at which tool wrote a statistics file that records nothing, from its layout.
func foreignStatisticsHint(_ npz: NpzFile) -> String? {
    if npz.contains("mu_s") && npz.contains("sigma_s") {
        return "its mu_s/sigma_s are the ADM evaluator's layout (its reference batches use TF-1 bilinear: --resize adm)"
    }
    if let mu = try? npz.header("mu"), mu.dtype == .float32 {
        return "a float32 mu beside sigma is how pytorch-fid's --save-stats and clean-fid write statistics (their modes: --resize pytorch, --resize clean)"
    }
    return nil
}
