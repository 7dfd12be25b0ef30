import Foundation
import TensorCore
import TensorIO

/// Settings of `trainDistortionClassifier`; the defaults are what `distortion train` uses.
public struct DistortionTrainingOptions: Sendable {
    /// Fewer reference images than this leave folds of a handful of images and a conformal
    /// threshold that can barely certify 5%.
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
    /// Cross-fitting folds: each reference image is calibrated on by the model of the fold that
    /// left it out. Five trains each fold model on 80% of the images.
    public var folds = 5
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
/// human-labelled images; calibrates the threshold at the chosen false-positive rate; and
/// measures detection for every kind, including the kinds never trained on.
///
/// Every reference image serves calibration through K-fold cross-fitting (`CrossFitting`): the
/// model of fold k is trained on the other folds' images and their distortions and scores fold
/// k's clean images and test distortions. The threshold is the split-conformal quantile of those
/// n out-of-fold clean scores (`conformalThreshold`), and the K fold models are the classifier: a
/// sample is scored by one of them, as each calibration image was (see `DistortionClassifier`).
/// A single held-out quarter (format 1) calibrated on n/4 images and let a 5% target flag 20% of
/// unseen clean photos at n = 256 (issue #15); see VALIDATION.md for the measured figures.
public func trainDistortionClassifier(reference: any ImageSource, labelled: LabelledImages? = nil,
                                      features provider: FeatureProvider,
                                      options: DistortionTrainingOptions = DistortionTrainingOptions(),
                                      log: (String) -> Void = { _ in }) throws -> DistortionClassifier {
    let loaded = try LoadedImages(reference, maxImages: options.maxReferenceImages, seed: options.seed)
    let minimum = DistortionTrainingOptions.minimumReferenceImages
    guard loaded.images.count >= minimum else {
        throw FormatError(reference.url, field: "reference images",
                          expected: "at least \(minimum) images to train the distortion classifier (cross-fitted in \(options.folds) folds)",
                          found: "\(loaded.images.count)")
    }
    var notes: [String] = []
    if loaded.resizedCount > 0 {
        notes.append("\(loaded.resizedCount) reference images of size \(loaded.originalSizes.sorted().joined(separator: ", ")) were resized to \(loaded.width)x\(loaded.height)")
    }
    if loaded.images.count < loaded.countInSource {
        notes.append("used a seeded random subset of \(loaded.images.count) of the \(loaded.countInSource) reference images")
    }
    let seed = options.seed, n = loaded.images.count
    let crossFitting = CrossFitting(groups: n, folds: options.folds, seed: seed)
    if n < 100 {
        notes.append("the threshold is calibrated on only \(n) clean images; a larger reference gives a steadier false-positive rate")
    }

    // Labelled images: three quarters train every model, one quarter tests the final one.
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

    // Training rows: each reference image clean plus distortions of the training kinds in rotation,
    // all owned by that image (its group); labelled images own groups of their own after the n.
    let perImage = max(1, options.distortedPerTrainImage)
    var trainSet: [RGBImage] = [], labels: [Float] = [], group: [Int] = [], cleanRow = [Int](repeating: 0, count: n)
    for (t, image) in loaded.images.enumerated() {
        cleanRow[t] = trainSet.count
        trainSet.append(image); labels.append(0); group.append(t)
        for j in 0..<perImage {
            let kind = DistortionKind.training[(t * perImage + j) % DistortionKind.training.count]
            var rng = SplitMix64(seed: seed, stream: "distort-train", index: t * perImage + j)
            trainSet.append(distort(image, kind: kind, rng: &rng)); labels.append(1); group.append(t)
        }
    }
    for (i, (image, label)) in labelledTrain.enumerated() {
        trainSet.append(image); labels.append(label); group.append(n + i)
    }
    // Test distortions: every kind applied to a seeded subset of the reference images; each is
    // scored by the fold model that never saw its source image.
    var testOrder = Array(0..<n)
    var testRng = SplitMix64(seed: seed, stream: "test-images", index: 0)
    testOrder.shuffle(using: &testRng)
    let testSources = Array(testOrder.prefix(options.maxTestImagesPerKind))
    var testSet: [RGBImage] = [], testKind: [Int] = [], testGroup: [Int] = []
    for (k, kind) in DistortionKind.allCases.enumerated() {
        for (i, g) in testSources.enumerated() {
            var rng = SplitMix64(seed: seed, stream: "distort-test-" + kind.rawValue, index: i)
            testSet.append(distort(loaded.images[g], kind: kind, rng: &rng)); testKind.append(k); testGroup.append(g)
        }
    }

    let totalImages = trainSet.count + testSet.count + labelledTestClean.count + labelledTestDistorted.count
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
    log("training on \(n) clean reference images + \(n * perImage) synthetic distortions"
        + (labelledTrain.isEmpty ? "" : " + \(labelledTrain.count) labelled images")
        + ", cross-fitted in \(options.folds) folds; features: \(provider.name)")

    let d = provider.dimension
    let rawTrain = try featureRows(trainSet), rawTest = try featureRows(testSet)
    func rows(_ x: [Float], _ keep: [Bool], columns: Int) -> [Float] {
        var out: [Float] = []
        for (i, k) in keep.enumerated() where k { out += x[(i * columns)..<((i + 1) * columns)] }
        return out
    }

    /// The whole fitting procedure on the training rows marked in `use`: standardise, choose λ on
    /// a validation fifth of those rows' groups (an image and its distortions stay together), refit.
    func fitClassifier(_ use: [Bool]) -> (Standardizer, LogisticRegression, Float, [Float]) {
        let count = use.filter { $0 }.count
        let raw = rows(rawTrain, use, columns: d)
        let standardizer = Standardizer(fitting: raw, rows: count, columns: d)
        let x = DistortionClassifier.design(standardizer.apply(raw), columns: d), inputs = 2 * d
        let y = zip(labels, use).filter { $0.1 }.map(\.0), g = zip(group, use).filter { $0.1 }.map(\.0)
        let validation = g.map { $0 % 5 == 0 }, fitMask = validation.map { !$0 }
        let xFit = rows(x, fitMask, columns: inputs), yFit = zip(y, fitMask).filter { $0.1 }.map(\.0)
        let xValidation = rows(x, validation, columns: inputs), yValidation = zip(y, validation).filter { $0.1 }.map(\.0)
        var bestL2 = options.l2Candidates.first ?? 1e-2, bestLoss = Double.infinity
        if options.l2Candidates.count > 1 && !yValidation.isEmpty {
            for l2 in options.l2Candidates {
                let (model, _) = LogisticRegression.fit(x: xFit, rows: yFit.count, columns: inputs, labels: yFit, l2: l2, iterations: options.iterations)
                let loss = balancedLogLoss(model.probabilities(xValidation, rows: yValidation.count), yValidation)
                if loss < bestLoss { bestLoss = loss; bestL2 = l2 }
            }
        }
        let (model, curve) = LogisticRegression.fit(x: x, rows: y.count, columns: inputs, labels: y, l2: bestL2, iterations: options.iterations)
        return (standardizer, model, bestL2, curve)
    }

    // Cross-fitting: each group's clean score and test-distortion scores come from the fold model
    // that was fitted without it. Labelled groups (≥ n) train every fold model. The fold models
    // are kept: they are the classifier (see `DistortionClassifier`).
    let testRowsOf = Dictionary(grouping: testSet.indices, by: { testGroup[$0] })
    var members: [DistortionClassifier.Member] = [], foldL2: [Float] = [], firstCurve: [Float] = []
    let outOfFold: [(clean: Double, test: [(row: Int, score: Double)])] = try crossFitting.outOfFold { trainingGroups in
        let (standardizer, model, l2, curve) = fitClassifier(group.map { $0 >= n || trainingGroups[$0] })
        let member = DistortionClassifier.Member(standardizer: standardizer, model: model)
        members.append(member); foldL2.append(l2)
        if firstCurve.isEmpty { firstCurve = curve }
        log(String(format: "  fold %d fitted on %d images, λ = %g", members.count, trainingGroups.filter { $0 }.count, Double(l2)))
        return { heldOut in
            let clean = member.probabilities(features: heldOut.flatMap { rawTrain[(cleanRow[$0] * d)..<((cleanRow[$0] + 1) * d)] }, rows: heldOut.count)
            return zip(heldOut, clean).map { g, c in
                let testRows = testRowsOf[g] ?? []
                let testScores = member.probabilities(features: testRows.flatMap { rawTest[($0 * d)..<(($0 + 1) * d)] }, rows: testRows.count)
                return (c, Array(zip(testRows, testScores)))
            }
        }
    }
    let cleanScores = outOfFold.map(\.clean)
    let threshold = conformalThreshold(cleanScores, falsePositiveRate: options.falsePositiveRate)
    let calibration = CalibrationSummary(crossFittedScores: cleanScores, fold: crossFitting.fold, folds: options.folds,
                                         falsePositiveRate: options.falsePositiveRate)
    if threshold.isInfinite {
        notes.append("\(n) calibration images cannot certify a \(options.falsePositiveRate) false-positive rate (it needs (n + 1)(1 − α) ≤ n): nothing will be flagged")
    }
    let flaggedShare = { (scores: [Double]) in Double(scores.filter { $0 > threshold }.count) / Double(max(scores.count, 1)) }

    func result(_ kind: String, heldOut: Bool, distorted: [Double], clean: [Double]) -> DistortionModelCard.KindResult {
        let detection = flaggedShare(distorted)
        return .init(kind: kind, heldOut: heldOut, count: distorted.count, detectionRate: detection,
                     balancedAccuracy: (detection + 1 - flaggedShare(clean)) / 2,
                     auc: areaUnderROC(positives: distorted, negatives: clean))
    }
    var testScore = [Double](repeating: .nan, count: testSet.count)
    for entry in outOfFold { for (row, score) in entry.test { testScore[row] = score } }
    var perKind: [DistortionModelCard.KindResult] = []
    var pooledHeldOut: [Double] = [], pooledTraining: [Double] = []
    for (k, kind) in DistortionKind.allCases.enumerated() {
        let kindScores = testSet.indices.filter { testKind[$0] == k }.map { testScore[$0] }
        perKind.append(result(kind.rawValue, heldOut: kind.isHeldOut, distorted: kindScores, clean: cleanScores))
        if kind.isHeldOut { pooledHeldOut += kindScores } else { pooledTraining += kindScores }
    }
    // The λ most folds chose (ties: the smallest), for the card.
    let bestL2 = foldL2.sorted().max { a, b in foldL2.filter { $0 == a }.count < foldL2.filter { $0 == b }.count } ?? 0
    // p(distorted) as the saved classifier gives it: each image from the fold model it hashes to.
    let classify = { (images: [RGBImage]) throws -> [Double] in
        let raw = try featureRows(images)
        let each = members.map { $0.probabilities(features: raw, rows: images.count) }
        return images.indices.map { i in each[DistortionClassifier.foldOf(features: raw[(i * d)..<((i + 1) * d)], folds: members.count)][i] }
    }
    if !labelledTestDistorted.isEmpty && !labelledTestClean.isEmpty {
        perKind.append(result("labelled", heldOut: true, distorted: try classify(labelledTestDistorted), clean: try classify(labelledTestClean)))
    }
    let curve = firstCurve

    let card = DistortionModelCard(
        createdBy: "dimr-eval",
        featureProvider: provider.name, featureCount: d,
        imageWidth: loaded.width, imageHeight: loaded.height,
        reference: .init(path: reference.url.path, imagesInSource: loaded.countInSource, imagesUsed: n,
                         fingerprint: fingerprint(loaded.images)),
        labelledFolders: labelled?.sources,
        trainingKinds: DistortionKind.training.map(\.rawValue), heldOutKinds: DistortionKind.heldOut.map(\.rawValue),
        split: .init(train: n, calibration: n, test: testSources.count, distortedPerTrainImage: perImage),
        seed: seed, l2: Double(bestL2), iterations: options.iterations,
        falsePositiveRate: options.falsePositiveRate, threshold: threshold,
        calibrationCleanRate: calibration.achievedFalsePositiveRate, testCleanRate: calibration.heldOutFoldRate,
        perKind: perKind,
        heldOutSummary: result("held-out kinds", heldOut: true, distorted: pooledHeldOut, clean: cleanScores),
        trainingSummary: result("training kinds", heldOut: false, distorted: pooledTraining, clean: cleanScores),
        trainingLoss: stride(from: 0, to: curve.count, by: max(1, curve.count / 50)).map { Double(curve[$0]) },
        notes: notes, calibration: calibration)
    return DistortionClassifier(card: card, members: members)
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
    var hash = FNV1a()
    for image in images {
        image.pixels.withUnsafeBytes { raw in
            // eight pixels' bytes per mix, then the tail byte by byte
            let words = raw.count / 8
            for i in 0..<words { hash.mix(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
            for i in (words * 8)..<raw.count { hash.mix(UInt64(raw[i])) }
        }
    }
    return String(format: "%016llx", hash.value)
}
