import Distortion
import Foundation
import TensorIO

/// What the report reads from one training run folder, tolerating whatever is missing:
/// - `metrics.jsonl`: one JSON object per evaluation (written by `dimr-eval train`): `step`,
///   `train_loss`, `fid`, `sfid`, `inception_score`, `precision`, `recall`, `distortion_rate`, …
///   (a few spellings of each are accepted);
/// - a step log: `train_log.jsonl` / `log.jsonl` (JSON lines with `step` and `loss`) or a text
///   `train.log` (lines containing `step N … loss X`);
/// - PNG files in the folder or its `samples/` subfolder (sample grids; names with "worst" are
///   the most-distorted grids);
/// - `heatmaps/*.png` (`distortion score --heatmap RUN/heatmaps`): per-sample patch-seam evidence
///   of the most distorted samples, drawn beside the worst grid;
/// - `distortion.json`: the output of `distortion score --json`. Without it, the report takes the
///   run's rate from a comparison whose samples file lies in the run folder;
/// - `reference.npz` (the real images the checkpoint scorer compared with) and
///   `samples/step-XXXXXXXX.npz` (each checkpoint's samples), ADM batches the report draws as grids.
public struct RunDirectory {
    public var url: URL
    public var label: String
    /// Evaluation records in file order.
    public var evaluations: [[String: Double]]
    /// (step, loss) from the step log, else from the evaluations' `train_loss`.
    public var lossCurve: [(x: Double, y: Double)]
    public var sampleGrids: [URL]
    public var worstGrids: [URL]
    /// PNGs in `heatmaps/`, in name order (the worst sample first).
    public var heatmaps: [URL]
    public var distortion: DistortionScore?
    /// The real images the run was scored against, when the folder keeps them (`reference.npz`).
    public var referenceBatch: URL?
    /// Each checkpoint's samples (`samples/step-XXXXXXXX.npz`), by step.
    public var checkpointSamples: [(step: Int, url: URL)]
    /// What was missing or unreadable.
    public var notes: [String]

    public static let metricAliases: [String: [String]] = [
        "step": ["step", "steps", "iteration"],
        "loss": ["train_loss", "loss"],
        "fid": ["fid", "FID"],
        "sfid": ["sfid", "sFID", "s_fid"],
        "is": ["inception_score", "is", "IS"],
        "precision": ["precision"],
        "recall": ["recall"],
        "distortion": ["distortion_rate", "distortion"],
    ]

    /// A run folder with something to show; an empty folder, or one that no `dimr-eval train`
    /// wrote, is refused (a page claiming "1 run" of nothing would be a wrong result).
    public static func requireRun(_ url: URL) throws -> RunDirectory {
        let run = try RunDirectory(url)
        let hasRun = FileManager.default.fileExists(atPath: url.appendingPathComponent("latest.json").path)
        guard hasRun || !run.evaluations.isEmpty || !run.lossCurve.isEmpty || !run.sampleGrids.isEmpty
                || !run.worstGrids.isEmpty || run.distortion != nil else {
            let empty = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).isEmpty
            throw FormatError(url, field: "run folder",
                              expected: "a folder written by `dimr-eval train` (latest.json, metrics.jsonl, train_log.jsonl, sample grids or distortion.json)",
                              found: empty ? "an empty folder" : "none of them")
        }
        return run
    }

    public init(_ url: URL, label: String? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(url, field: "run folder", expected: "a folder written by `dimr-eval train`", found: "no such folder")
        }
        self.url = url
        self.label = label ?? url.standardizedFileURL.lastPathComponent
        notes = []
        evaluations = []
        let metricsURL = url.appendingPathComponent("metrics.jsonl")
        if let text = try? String(contentsOf: metricsURL, encoding: .utf8) {
            for (n, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    notes.append("metrics.jsonl line \(n + 1) is not a JSON object; skipped")
                    continue
                }
                evaluations.append(RunDirectory.canonical(object))
            }
        } else {
            notes.append("no metrics.jsonl")
        }
        lossCurve = RunDirectory.readStepLog(url)
        if lossCurve.isEmpty {
            lossCurve = evaluations.compactMap { e in e["step"].flatMap { s in e["loss"].map { (s, $0) } } }
        }
        var grids: [URL] = [], worst: [URL] = []
        for folder in [url, url.appendingPathComponent("samples")] {
            let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil,
                                                                      options: [.skipsHiddenFiles])) ?? []
            for file in files.sorted(by: { $0.lastPathComponent.localizedStandardCompare($1.lastPathComponent) == .orderedAscending })
            where file.pathExtension.lowercased() == "png" {
                if file.lastPathComponent.lowercased().contains("worst") { worst.append(file) } else { grids.append(file) }
            }
        }
        sampleGrids = grids
        worstGrids = worst
        let heatmapFiles = (try? FileManager.default.contentsOfDirectory(at: url.appendingPathComponent("heatmaps"), includingPropertiesForKeys: nil,
                                                                         options: [.skipsHiddenFiles])) ?? []
        heatmaps = heatmapFiles.filter { $0.pathExtension.lowercased() == "png" }
            .sorted { $0.lastPathComponent.localizedStandardCompare($1.lastPathComponent) == .orderedAscending }
        let reference = url.appendingPathComponent("reference.npz")
        referenceBatch = FileManager.default.fileExists(atPath: reference.path) ? reference : nil
        let stepFiles = (try? FileManager.default.contentsOfDirectory(at: url.appendingPathComponent("samples"), includingPropertiesForKeys: nil)) ?? []
        checkpointSamples = stepFiles.compactMap { file -> (step: Int, url: URL)? in
            let name = file.lastPathComponent
            guard name.hasPrefix("step-"), file.pathExtension == "npz", let step = Int(name.dropFirst(5).dropLast(4)) else { return nil }
            return (step, file)
        }.sorted { $0.step < $1.step }
        let distortionURL = url.appendingPathComponent("distortion.json")
        if let data = try? Data(contentsOf: distortionURL) {
            do { distortion = try JSONDecoder().decode(DistortionScore.self, from: data) } catch {
                notes.append("distortion.json is not the output of `distortion score --json`; ignored")
            }
        }
    }

    /// The last evaluation that has any quality metric (else the last one).
    public var finalEvaluation: [String: Double]? {
        evaluations.last { $0["fid"] != nil || $0["is"] != nil || $0["distortion"] != nil } ?? evaluations.last
    }

    /// Maps a record's keys onto our canonical names (numbers only; other values are dropped).
    static func canonical(_ object: [String: Any]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (key, value) in object {
            guard let number = jsonNumber(value) else { continue }
            out[key] = number
        }
        // The demo's closing scores (more samples, same step) are marked so curves can leave them out.
        if object["final"] != nil { out["final"] = 1 }
        for (name, aliases) in metricAliases {
            if let hit = aliases.first(where: { out[$0] != nil }) { out[name] = out[hit] }
        }
        return out
    }

    /// (step, loss) pairs from a JSON-lines or text step log, whichever exists.
    static func readStepLog(_ url: URL) -> [(x: Double, y: Double)] {
        for name in ["train_log.jsonl", "log.jsonl", "train.jsonl", "steps.jsonl"] {
            guard let text = try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8) else { continue }
            let points: [(x: Double, y: Double)] = text.split(separator: "\n").compactMap { line in
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
                let record = canonical(object)
                guard let step = record["step"], let loss = record["loss"] else { return nil }
                return (step, loss)
            }
            if !points.isEmpty { return points }
        }
        for name in ["train.log", "log.txt", "train.txt"] {
            guard let text = try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8) else { continue }
            let step = try! NSRegularExpression(pattern: #"step[\s=:]+(\d+)"#, options: [.caseInsensitive])
            let loss = try! NSRegularExpression(pattern: #"loss[\s=:]+([-+0-9.eE]+)"#, options: [.caseInsensitive])
            var points: [(x: Double, y: Double)] = []
            for line in text.split(separator: "\n").map(String.init) {
                let range = NSRange(line.startIndex..., in: line)
                guard let s = step.firstMatch(in: line, range: range), let l = loss.firstMatch(in: line, range: range),
                      let sv = Double(line[Range(s.range(at: 1), in: line)!]), let lv = Double(line[Range(l.range(at: 1), in: line)!])
                else { continue }
                points.append((sv, lv))
            }
            if !points.isEmpty { return points }
        }
        return []
    }
}

extension DistortionComparison {
    /// The score of the samples file that lies inside `folder` (a run's final samples compared
    /// with other runs'), when exactly one does. Relative `source` paths are taken from the
    /// current directory, as `distortion compare` read them.
    public func score(ofSamplesIn folder: URL) -> DistortionScore? {
        let prefix = folder.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        let inside = scores.filter { URL(fileURLWithPath: $0.source).standardizedFileURL.resolvingSymlinksInPath().path.hasPrefix(prefix) }
        return inside.count == 1 ? inside[0] : nil
    }
}
