import DiMRTrainer
import Distortion
import Eval
import Foundation
import TensorIO

/// What `DemoPipeline.run` made: each model's run folder, samples and final scores, the
/// distortion comparison, and where the report is.
public struct DemoResult {
    public struct Model {
        /// The name in the comparison and the report ("DiT", "U-ViT", "DiMR").
        public var label: String
        public var architecture: Architecture
        public var runFolder: URL
        /// The final samples (an ADM batch).
        public var samples: URL
        /// Every metric of the final samples against the reference (RUN/final-metrics.json).
        public var finalScores: MetricSuite.Report
    }

    /// Wall-clock seconds of the whole pipeline.
    public var seconds: Int
    public var models: [Model]
    /// The distortion rates of the models' final samples, in `models`' order (distortion.json).
    public var comparison: DistortionComparison
    public var report: URL
    public var output: URL

    /// The demo's last line under --json, a contract scripts rely on (extend it, don't change it):
    /// `seconds`, `models` (one `{label, arch, precision, recall, fid, kid, distortion_rate,
    /// samples, run_dir}` per model, since 2026-12-03 also `label_accuracy` and
    /// `label_accuracy_reference`, from its final scores and the comparison), `comparison` (the
    /// object `distortion compare --json` writes), plus `report` and `output`. Built from the
    /// JSON of the final scores and the comparison as read back, so values print as in those files.
    public func summaryJSON() throws -> String {
        let compared = try jsonObject(comparison)
        let scores = compared["scores"] as? [[String: Any]] ?? []
        var summaries: [[String: Any]] = []
        for (i, model) in models.enumerated() {
            let metrics = try jsonObject(model.finalScores)
            var summary: [String: Any] = ["label": model.label, "arch": model.architecture.rawValue,
                                          "samples": model.samples.path, "run_dir": model.runFolder.path]
            for key in ["precision", "recall", "fid", "kid", "label_accuracy", "label_accuracy_reference"] { summary[key] = metrics[key] ?? NSNull() }
            summary["distortion_rate"] = i < scores.count ? scores[i]["distortion_rate"] ?? NSNull() : NSNull()
            summaries.append(summary)
        }
        let summary: [String: Any] = ["seconds": seconds, "models": summaries, "comparison": compared,
                                      "report": report.path, "output": output.path]
        return try jsonObjectText(summary)
    }
}
