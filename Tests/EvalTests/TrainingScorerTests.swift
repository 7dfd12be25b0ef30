import DiMRTrainer
import Distortion
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// `train`'s checkpoint scorer (Sources/Eval/Training/TrainingScorer.swift) without the binary:
/// 64 held-out embedded shapes as the reference, 16 samples per checkpoint. Samples that are
/// reference images must score a far lower FID than uniform noise, every score must be finite,
/// and the names must be metrics.jsonl's. Needs the Inception weights (scripts/setup.sh).
final class TrainingScorerTests: XCTestCase {
    func testScoresCheckpointSamplesAgainstTheHeldOutImages() throws {
        guard (try? WeightsLocator.locate()) != nil else {
            throw XCTSkip("no Inception weights (run scripts/setup.sh; searched \(WeightsLocator.candidates().map(\.path)))")
        }
        let dir = try temporaryDirectory(self)
        let data = EmbeddedTrainingData(seed: 0)
        var referenceRequests = 0
        func heldOut(_ count: Int) -> [(image: RGBImage, label: Int)] {
            referenceRequests += 1
            return data.referenceImages(count: count)
        }
        var notes: [String] = []
        let scorer = TrainingScorer(folder: dir, referenceCount: 64, provider: ExtractorProvider(progress: false),
                                    classifierCache: DistortionClassifierCache(root: dir.appendingPathComponent("classifiers"))) {
            notes.append($0)
        }

        let real = data.referenceImages(count: 16)
        let onData = try scorer.score(step: 1, samples: real.map(\.image), labels: real.map(\.label), reference: heldOut)
        var rng = SplitMix64(seed: 3)
        let noise = (0..<16).map { _ in
            var image = RGBImage(width: data.imageSize, height: data.imageSize)
            for i in image.pixels.indices { image.pixels[i] = UInt8(rng.below(256)) }
            return image
        }
        let offData = try scorer.score(step: 2, samples: noise, labels: real.map(\.label), reference: heldOut)

        XCTAssertEqual(referenceRequests, 1, "the reference side is made once per run")
        let expected: Set = ["fid", "sfid", "precision", "recall", "density", "coverage", "kid",
                             "label_accuracy", "label_accuracy_reference", "distortion_rate"]
        for scores in [onData, offData] {
            XCTAssertTrue(expected.isSubset(of: scores.keys), "missing \(expected.subtracting(scores.keys))")
            XCTAssertTrue(Set(scores.keys).isSubset(of: expected.union(["is"])), "unknown \(Set(scores.keys).subtracting(expected))")
            for (name, value) in scores { XCTAssertTrue(value.isFinite, "\(name) = \(value)") }
        }
        let fidOnData = try XCTUnwrap(onData["fid"]), fidOffData = try XCTUnwrap(offData["fid"])
        XCTAssertLessThan(fidOnData, fidOffData / 3, "reference images against noise")
        XCTAssertLessThan(onData["sfid"]!, offData["sfid"]!)
        XCTAssertGreaterThan(onData["precision"]!, offData["precision"]!)
        for file in ["reference.npz", "samples/step-00000001.npz", "samples/step-00000002.npz"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        XCTAssertEqual(try openImageSource(dir.appendingPathComponent("reference.npz")).count, 64)
        XCTAssertTrue(notes.contains { $0.hasPrefix("training a distortion classifier") }, "\(notes)")
    }
}
