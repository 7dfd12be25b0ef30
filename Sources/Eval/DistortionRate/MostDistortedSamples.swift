import Distortion
import Foundation
import TensorIO

// What the classifier flags, for a person to check (`distortion score --worst/--heatmap`, the
// demo; `report` shows RUN/worst.png and RUN/heatmaps side by side).

/// The most distorted samples (as `DistortionScorer.score` keeps them) as one square grid, in PNG.
public func writeMostDistortedGrid(_ worst: [(index: Int, probability: Double, image: RGBImage)], to url: URL) throws {
    try writeAtomically(try encodePNG(squareImageGrid(worst.map(\.image))), to: url)
}

/// One PNG per sample, the first `count`, worst first: `worst-RR-sample-INDEX.png` (RR its rank),
/// written atomically into `folder` (created if needed). The picture is the sample beside the same
/// with `PatchSeamEvidence` overlaid. Returns the files' paths.
public func writeSeamHeatmaps(_ worst: [(index: Int, probability: Double, image: RGBImage)], count: Int, to folder: URL) throws -> [String] {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return try worst.prefix(count).enumerated().map { rank, sample in
        let file = folder.appendingPathComponent(String(format: "worst-%02d-sample-%06d.png", rank + 1, sample.index))
        try writeAtomically(try encodePNG(PatchSeamEvidence(sample.image).overlay(on: sample.image)), to: file)
        return file.path
    }
}
