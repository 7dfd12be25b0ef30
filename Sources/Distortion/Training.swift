import Foundation
import TensorCore
import TensorIO

/// Settings of `trainDistortionClassifier`; the defaults are what `distortion train` uses.
public struct DistortionTrainingOptions: Sendable {
    /// Fewer reference images than this cannot be split into train / calibration / test sets
    /// that mean anything.
    public static let minimumReferenceImages = 40

    public var seed: UInt64 = 0
    /// Share of clean images allowed over the threshold; calibrated on held-out reference images.
    public var falsePositiveRate = 0.05
    /// Synthetic distortions made from each training image (kinds in rotation).
    public var distortedPerTrainImage = 2
    /// A seeded random subset of a larger reference is used (they are held in memory).
    public var maxReferenceImages = 600
    /// Test images distorted per kind for the validation figures.
    public var maxTestImagesPerKind = 100
    /// L2 strengths tried; the one with the lowest validation loss is kept.
    public var l2Candidates: [Float] = [1e-3, 1e-2, 1e-1, 1]
    public var iterations = 400
    /// Show progress on a terminal.
    public var progress = true

    public init() {}
}

/// Images a person labelled, added to the synthetic training data (`distortion train --labelled-folder`).
public struct LabelledImages {
    public var clean: [RGBImage]
    public var distorted: [RGBImage]
    /// Label → where the images came from (stored in the card).
    public var sources: [String: String]

    public init(clean: [RGBImage], distorted: [RGBImage], sources: [String: String]) {
        self.clean = clean; self.distorted = distorted; self.sources = sources
    }
}

/// Images read into memory, all at one size.
public struct LoadedImages {
    public var images: [RGBImage]
    public var countInSource: Int
    public var width: Int
    public var height: Int
    /// How many had another size and were resized, with the sizes seen.
    public var resizedCount: Int
    public var originalSizes: Set<String>

    /// Reads `source` (a seeded random subset of at most `maxImages`), resizing to `size` when
    /// given, else to the first image's size.
    public init(_ source: any ImageSource, maxImages: Int = .max, size: (width: Int, height: Int)? = nil, seed: UInt64 = 0) throws {
        countInSource = source.count
        var keep = Set(0..<source.count)
        if source.count > maxImages {
            var rng = SplitMix64(seed: seed, stream: "reference-subset", index: 0)
            var all = Array(0..<source.count)
            for i in 0..<maxImages { all.swapAt(i, i + rng.below(all.count - i)) }
            keep = Set(all.prefix(maxImages))
        }
        var images: [RGBImage] = [], resized = 0, sizes = Set<String>()
        var target = size
        try source.forEachBatch(size: 64) { start, batch in
            for (offset, image) in batch.enumerated() where keep.contains(start + offset) {
                if target == nil { target = (image.width, image.height) }
                if image.width != target!.width || image.height != target!.height {
                    resized += 1
                    sizes.insert("\(image.width)x\(image.height)")
                    images.append(image.resized(width: target!.width, height: target!.height))
                } else {
                    images.append(image)
                }
            }
        }
        self.images = images
        width = target?.width ?? 0
        height = target?.height ?? 0
        resizedCount = resized
        originalSizes = sizes
    }
}

/// Trains the distortion classifier from a reference batch (real images = the clean class,
/// their synthetic distortions of the training kinds = the distorted class), optionally with
/// human-labelled images; calibrates the threshold on held-out clean reference images at the
/// chosen false-positive rate; and measures detection on held-out images for every kind,
/// including the kinds never trained on.
///
/// The reference is split (seeded) into train 50%, calibration 25%, test 25%.
public func trainDistortionClassifier(reference: any ImageSource, labelled: LabelledImages? = nil,
                                      features provider: FeatureProvider,
                                      options: DistortionTrainingOptions = DistortionTrainingOptions(),
                                      log: (String) -> Void = { _ in }) throws -> DistortionClassifier {
    let loaded = try LoadedImages(reference, maxImages: options.maxReferenceImages, seed: options.seed)
    let minimum = DistortionTrainingOptions.minimumReferenceImages
    guard loaded.images.count >= minimum else {
        throw FormatError(reference.url, field: "reference images",
                          expected: "at least \(minimum) images to train the distortion classifier (split into train, calibration and test sets)",
                          found: "\(loaded.images.count)")
    }
    var notes: [String] = []
    if loaded.resizedCount > 0 {
        notes.append("\(loaded.resizedCount) reference images of size \(loaded.originalSizes.sorted().joined(separator: ", ")) were resized to \(loaded.width)x\(loaded.height)")
    }
    if loaded.images.count < loaded.countInSource {
        notes.append("used a seeded random subset of \(loaded.images.count) of the \(loaded.countInSource) reference images")
    }
    let seed = options.seed
    var order = Array(loaded.images.indices)
    var splitRng = SplitMix64(seed: seed, stream: "split", index: 0)
    order.shuffle(using: &splitRng)
    let n = order.count, trainCount = n / 2, calibrationCount = n / 4
    let trainImages = order[0..<trainCount].map { loaded.images[$0] }
    let calibrationImages = order[trainCount..<(trainCount + calibrationCount)].map { loaded.images[$0] }
    let testImages = order[(trainCount + calibrationCount)...].map { loaded.images[$0] }
    if calibrationCount < 100 {
        notes.append("the threshold is calibrated on only \(calibrationCount) clean images; a larger reference gives a steadier false-positive rate")
    }

    // Labelled images: three quarters train, one quarter test.
    var labelledTrain: [(RGBImage, Float)] = [], labelledTestClean: [RGBImage] = [], labelledTestDistorted: [RGBImage] = []
    if let labelled {
        var rng = SplitMix64(seed: seed, stream: "labelled-split", index: 0)
        let fit = { (image: RGBImage) in image.resized(width: loaded.width, height: loaded.height) }
        for (images, label) in [(labelled.clean, Float(0)), (labelled.distorted, Float(1))] {
            var shuffled = images.map(fit)
            shuffled.shuffle(using: &rng)
            let cut = (shuffled.count * 3) / 4
            labelledTrain += shuffled[..<cut].map { ($0, label) }
            if label == 0 { labelledTestClean = Array(shuffled[cut...]) } else { labelledTestDistorted = Array(shuffled[cut...]) }
        }
    }

    // The training set: each training image clean, plus distortions of the training kinds in rotation.
    let perImage = max(1, options.distortedPerTrainImage)
    var trainSet: [RGBImage] = [], labels: [Float] = [], group: [Int] = []
    for (t, image) in trainImages.enumerated() {
        trainSet.append(image); labels.append(0); group.append(t)
        for j in 0..<perImage {
            let kind = DistortionKind.training[(t * perImage + j) % DistortionKind.training.count]
            var rng = SplitMix64(seed: seed, stream: "distort-train", index: t * perImage + j)
            trainSet.append(distort(image, kind: kind, rng: &rng)); labels.append(1); group.append(t)
        }
    }
    for (i, (image, label)) in labelledTrain.enumerated() {
        trainSet.append(image); labels.append(label); group.append(trainImages.count + i)
    }

    let testPerKind = Array(testImages.prefix(options.maxTestImagesPerKind))
    let totalImages = trainSet.count + calibrationImages.count + testImages.count
        + testPerKind.count * DistortionKind.allCases.count + labelledTestClean.count + labelledTestDistorted.count
    let progress = Progress(total: totalImages, label: "distortion features", enabled: options.progress ? nil : false)
    defer { progress.finish() }
    func featureRows(_ images: [RGBImage]) throws -> [Float] {
        var rows: [Float] = []
        rows.reserveCapacity(images.count * provider.dimension)
        var start = 0
        while start < images.count {
            let end = min(start + 64, images.count)
            rows += try provider.features(of: Array(images[start..<end]))
            progress.advance(by: end - start)
            start = end
        }
        return rows
    }
    log("training on \(trainImages.count) clean reference images + \(trainImages.count * perImage) synthetic distortions"
        + (labelledTrain.isEmpty ? "" : " + \(labelledTrain.count) labelled images") + "; features: \(provider.name)")

    let d = provider.dimension
    let rawTrain = try featureRows(trainSet)
    let standardizer = Standardizer(fitting: rawTrain, rows: trainSet.count, columns: d)
    let xTrain = DistortionClassifier.design(standardizer.apply(rawTrain), columns: d)

    // Choose λ on a validation fifth of the training images (an image and its distortions stay together).
    let validation = group.map { $0 % 5 == 0 }
    let inputs = 2 * d
    func rows(_ x: [Float], _ keep: [Bool]) -> [Float] {
        var out: [Float] = []
        for (i, k) in keep.enumerated() where k { out += x[(i * inputs)..<((i + 1) * inputs)] }
        return out
    }
    let fitMask = validation.map { !$0 }
    let xFit = rows(xTrain, fitMask), yFit = zip(labels, fitMask).filter { $0.1 }.map(\.0)
    let xValidation = rows(xTrain, validation), yValidation = zip(labels, validation).filter { $0.1 }.map(\.0)
    var bestL2 = options.l2Candidates.first ?? 1e-2, bestLoss = Double.infinity
    if options.l2Candidates.count > 1 && !yValidation.isEmpty {
        for l2 in options.l2Candidates {
            let (model, _) = LogisticRegression.fit(x: xFit, rows: yFit.count, columns: inputs, labels: yFit, l2: l2, iterations: options.iterations)
            let p = model.probabilities(xValidation, rows: yValidation.count)
            let loss = balancedLogLoss(p, yValidation)
            log(String(format: "  λ = %g: validation loss %.4f", Double(l2), loss))
            if loss < bestLoss { bestLoss = loss; bestL2 = l2 }
        }
    }
    let (model, curve) = LogisticRegression.fit(x: xTrain, rows: trainSet.count, columns: inputs, labels: labels,
                                                l2: bestL2, iterations: options.iterations)
    let classifier = { (images: [RGBImage]) throws -> [Double] in
        model.probabilities(DistortionClassifier.design(standardizer.apply(try featureRows(images)), columns: d), rows: images.count)
    }

    // Threshold from the calibration images; clean rates on calibration and test images.
    let calibrationScores = try classifier(calibrationImages)
    let threshold = thresholdAtFalsePositiveRate(calibrationScores, falsePositiveRate: options.falsePositiveRate)
    let flaggedShare = { (scores: [Double]) in Double(scores.filter { $0 > threshold }.count) / Double(max(scores.count, 1)) }
    let testClean = try classifier(testImages)
    let testCleanRate = flaggedShare(testClean)

    func result(_ kind: String, heldOut: Bool, distorted: [Double], clean: [Double]) -> DistortionModelCard.KindResult {
        let detection = flaggedShare(distorted)
        return .init(kind: kind, heldOut: heldOut, count: distorted.count, detectionRate: detection,
                     balancedAccuracy: (detection + 1 - flaggedShare(clean)) / 2,
                     auc: areaUnderROC(positives: distorted, negatives: clean))
    }
    var perKind: [DistortionModelCard.KindResult] = []
    var pooledHeldOut: [Double] = [], pooledTraining: [Double] = []
    for kind in DistortionKind.allCases {
        let distorted = testPerKind.enumerated().map { i, image in
            var rng = SplitMix64(seed: seed, stream: "distort-test-" + kind.rawValue, index: i)
            return distort(image, kind: kind, rng: &rng)
        }
        let scores = try classifier(distorted)
        perKind.append(result(kind.rawValue, heldOut: kind.isHeldOut, distorted: scores, clean: testClean))
        if kind.isHeldOut { pooledHeldOut += scores } else { pooledTraining += scores }
    }
    if !labelledTestDistorted.isEmpty && !labelledTestClean.isEmpty {
        perKind.append(result("labelled", heldOut: true, distorted: try classifier(labelledTestDistorted),
                              clean: try classifier(labelledTestClean)))
    }

    let card = DistortionModelCard(
        createdBy: "dimr-eval",
        featureProvider: provider.name, featureCount: d,
        imageWidth: loaded.width, imageHeight: loaded.height,
        reference: .init(path: reference.url.path, imagesInSource: loaded.countInSource, imagesUsed: loaded.images.count,
                         fingerprint: fingerprint(loaded.images)),
        labelledFolders: labelled?.sources,
        trainingKinds: DistortionKind.training.map(\.rawValue), heldOutKinds: DistortionKind.heldOut.map(\.rawValue),
        split: .init(train: trainImages.count, calibration: calibrationImages.count, test: testImages.count,
                     distortedPerTrainImage: perImage),
        seed: seed, l2: Double(bestL2), iterations: options.iterations,
        falsePositiveRate: options.falsePositiveRate, threshold: threshold,
        calibrationCleanRate: flaggedShare(calibrationScores), testCleanRate: testCleanRate,
        perKind: perKind,
        heldOutSummary: result("held-out kinds", heldOut: true, distorted: pooledHeldOut, clean: testClean),
        trainingSummary: result("training kinds", heldOut: false, distorted: pooledTraining, clean: testClean),
        trainingLoss: stride(from: 0, to: curve.count, by: max(1, curve.count / 50)).map { Double(curve[$0]) },
        notes: notes)
    return DistortionClassifier(card: card, standardizer: standardizer, model: model)
}

/// Cross-entropy with both classes weighted equally.
func balancedLogLoss(_ p: [Double], _ labels: [Float]) -> Double {
    var sums = [0.0, 0.0], counts = [0.0, 0.0]
    for (pi, y) in zip(p, labels) {
        let c = y > 0.5 ? 1 : 0
        let q = min(max(c == 1 ? pi : 1 - pi, 1e-12), 1)
        sums[c] -= log(q); counts[c] += 1
    }
    return (0..<2).filter { counts[$0] > 0 }.map { sums[$0] / counts[$0] }.reduce(0, +) / 2
}

/// A short content hash of images (FNV-1a over their pixels), to tell reference batches apart.
public func fingerprint(_ images: [RGBImage]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for image in images {
        image.pixels.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01b3 }
        }
    }
    return String(format: "%016llx", h)
}
