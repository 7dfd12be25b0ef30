import Distortion
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// The classifier cache (Sources/Distortion/ClassifierCache.swift): the second request for the
/// same reference, features and settings loads the classifier the first one trained (same card,
/// same probabilities to the bit); another setting or another reference file is another entry.
/// 48 photographs of 32×32 with the hand-made features: a few seconds, no Inception weights.
final class ClassifierCacheTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws { root = try temporaryDirectory(self) }

    func reference(_ name: String, count: Int = 48) throws -> URL {
        let images = Array(try photos("a").prefix(count))
        let url = root.appendingPathComponent(name + ".npz")
        try writeNpz([("arr_0", NpyArray(uint8: images.flatMap(\.pixels), shape: [images.count, 32, 32, 3]))], to: url)
        return url
    }

    var options: DistortionTrainingOptions {
        var options = DistortionTrainingOptions()
        options.progress = false
        options.maxTestImagesPerKind = 10
        options.iterations = 100
        return options
    }

    func testHitLoadsTheClassifierTrainedBefore() throws {
        let ref = try reference("ref")
        let cache = DistortionClassifierCache(root: root.appendingPathComponent("cache"))
        var log: [String] = []
        let (trained, folder) = try cache.classifier(reference: ref, features: HandcraftedFeatures(), options: options) { log.append($0) }
        XCTAssertTrue(log.first?.hasPrefix("training a distortion classifier") == true, "\(log)")
        XCTAssertEqual(folder.path, cache.folder(reference: ref, featureProvider: HandcraftedFeatures.providerName, options: options).path)

        log = []
        let (loaded, again) = try cache.classifier(reference: ref, features: HandcraftedFeatures(), options: options) { log.append($0) }
        XCTAssertEqual(log, ["using the cached classifier \(folder.path) (trained from \(ref.path))"], "a hit trains nothing")
        XCTAssertEqual(again.path, folder.path)
        XCTAssertEqual(try jsonText(loaded.card, style: .document), try jsonText(trained.card, style: .document))
        let images = Array(try photos("b").prefix(16))
        let features = try HandcraftedFeatures().features(of: images)
        XCTAssertEqual(loaded.probabilities(features: features, rows: 16), trained.probabilities(features: features, rows: 16))
    }

    func testKeyNamesTheReferenceTheFeaturesAndTheSettings() throws {
        let ref = try reference("ref"), other = try reference("other")
        let name = HandcraftedFeatures.providerName
        let key = DistortionClassifierCache.key(reference: ref, featureProvider: name, options: options)
        XCTAssertEqual(key.count, 16)
        XCTAssertEqual(DistortionClassifierCache.key(reference: ref, featureProvider: name, options: options), key, "deterministic")

        var changed: [String: DistortionTrainingOptions] = [:]
        changed["seed"] = options; changed["seed"]!.seed = 1
        changed["fpr"] = options; changed["fpr"]!.falsePositiveRate = 0.1
        changed["max reference"] = options; changed["max reference"]!.maxReferenceImages = 100
        for (what, changedOptions) in changed {
            XCTAssertNotEqual(DistortionClassifierCache.key(reference: ref, featureProvider: name, options: changedOptions), key, what)
        }
        XCTAssertNotEqual(DistortionClassifierCache.key(reference: ref, featureProvider: InceptionDistortionFeatures.providerName,
                                                        options: options), key, "features")
        XCTAssertNotEqual(DistortionClassifierCache.key(reference: other, featureProvider: name, options: options), key,
                          "the same images in another file")

        // The same path holding other images: a different size, or the same size written later.
        _ = try reference("ref", count: 40)
        let smaller = DistortionClassifierCache.key(reference: ref, featureProvider: name, options: options)
        XCTAssertNotEqual(smaller, key, "rewritten with fewer images")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: ref.path)
        XCTAssertNotEqual(DistortionClassifierCache.key(reference: ref, featureProvider: name, options: options), smaller,
                          "rewritten (modification time)")
    }
}
