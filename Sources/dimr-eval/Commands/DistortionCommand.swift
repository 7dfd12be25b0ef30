import ArgumentParser
import Distortion
import Eval
import Foundation
import TensorIO

/// `dimr-eval distortion score | train | compare`: the distortion rate of samples, measured by a
/// classifier trained from the user's own reference images (see Sources/Distortion).
struct DistortionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distortion",
        abstract: "Distortion rate of samples: score, train, compare.",
        discussion: """
        A classifier flags low-fidelity samples (patch-grid seams, misplaced or repeated parts, bent \
        geometry, torn texture). It is trained from a reference batch — real images are the clean class, \
        synthetic distortions of them the distorted class — cross-fitted in 5 folds, so that every \
        reference image is scored by a model that never saw it and serves calibration: a sample is \
        flagged by the cross-conformal test at a chosen false-positive rate. The distortion rate is the \
        share flagged, with a bootstrap confidence interval; beside it, the realism check (Inception \
        precision/density against the reference) says whether the samples are on the data manifold at \
        all. A classifier with held-out AUC < 0.6 is refused (--force), < 0.7 noted.
        """,
        subcommands: [Score.self, TrainClassifier.self, Compare.self])
}

/// Options shared by the subcommands that need a classifier.
struct ClassifierOptions: ParsableArguments {
    @Option(help: "Reference images (ADM .npz, .npy or folder): the clean class. Needed unless --model is given.")
    var ref: String?

    @Option(help: "A classifier folder from `distortion train`. Without it one is trained from --ref and cached.")
    var model: String?

    @Option(help: "Features when training: auto (Inception when its weights are found, else hand-made), inception, handcrafted.")
    var features: DistortionClassifierChoice.Features = .auto

    @Option(help: "Inception weights (default: the usual search, see `dimr-eval doctor`).")
    var weights: String?

    @Option(parsing: .unconditional, help: "False-positive rate on clean reference images that sets the threshold.")
    var fpr: Double = 0.05

    @Option(parsing: .unconditional, help: "Seed for data splits, synthetic distortions and the bootstrap.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Most reference images used for training (a seeded random subset of larger batches).")
    var maxReference: Int = 600

    @Flag(help: "Report a rate even when the classifier's held-out AUC is below 0.6 (it cannot see distortion; a note says so).")
    var force = false

    @Option(help: "Realism check beside the rate (Inception precision/density of the samples against --ref): auto (when Inception weights are found), on, off.")
    var realism: RealismChoice = .auto

    func validate() throws {
        guard fpr > 0 && fpr < 0.5 else { throw ValidationError("--fpr must be in (0, 0.5), got \(fpr)") }
        guard maxReference >= DistortionTrainingOptions.minimumReferenceImages else {
            throw ValidationError("--max-reference must be at least \(DistortionTrainingOptions.minimumReferenceImages)")
        }
    }

    var trainingOptions: DistortionTrainingOptions {
        var options = DistortionTrainingOptions()
        options.falsePositiveRate = fpr
        options.seed = seed
        options.maxReferenceImages = maxReference
        return options
    }

    /// Where the classifier comes from, with these options' features and settings.
    func choice() throws -> DistortionClassifierChoice {
        let origin: DistortionClassifierChoice.Origin
        if let model { origin = .saved(URL(fileURLWithPath: model)) } else {
            guard let ref else { throw ValidationError("give --ref REFERENCE (to train a classifier) or --model MODEL_DIR") }
            origin = .trained(reference: URL(fileURLWithPath: ref))
        }
        var choice = DistortionClassifierChoice(origin: origin)
        choice.features = features
        choice.weights = weights.map { URL(fileURLWithPath: $0) }
        choice.training = trainingOptions
        choice.force = force
        return choice
    }

    /// The classifier from --model, or one trained from --ref (cached under the dimr-eval cache).
    /// One too weak to see distortion (held-out AUC < 0.6) is refused here unless --force.
    func scorer() throws -> DistortionScorer { try choice().scorer(log: warn) }

    /// Inception features of the reference for the realism check, or nil when it is off (or auto
    /// and the weights are missing: a warning says so).
    func realismReference(model card: DistortionModelCard) throws -> RealismReference? {
        try RealismReference.load(realism, reference: ref ?? card.reference.path, weights: weights.map { URL(fileURLWithPath: $0) }, log: warn)
    }

    var scoringOptions: DistortionScoringOptions {
        var options = DistortionScoringOptions()
        options.seed = seed
        return options
    }
}

extension RealismChoice: ExpressibleByArgument {}
extension DistortionClassifierChoice.Features: ExpressibleByArgument {}

/// Prints to stderr (stdout stays clean for --json).
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }

extension DistortionCommand {
    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Distortion rate of a batch of samples, with a bootstrap CI.")

        @Argument(help: "Samples: an ADM .npz, a .npy or a folder of images.") var samples: String
        @OptionGroup var classifier: ClassifierOptions
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Include p(distorted) of every sample in the JSON.") var perImage = false
        @Option(parsing: .unconditional, help: "Write a PNG grid of the K most distorted samples.") var worst: Int = 0
        @Option(help: "Where the grid of the most distorted samples goes.") var worstGrid: String = "worst.png"
        @Option(parsing: .unconditional, help: "Bootstrap resamples for the confidence interval.") var bootstrap: Int = 1000
        @Option(help: "Write a PNG per most distorted sample (the --worst K, else 16) with its patch-seam evidence overlaid into this folder; `report` shows RUN/heatmaps beside the worst grid.")
        var heatmap: String?

        /// How many heatmaps: the worst grid's samples, or 16 without one.
        var heatmapCount: Int { heatmap == nil ? 0 : (worst > 0 ? worst : 16) }

        func validate() throws {
            guard worst >= 0 else { throw ValidationError("--worst must be ≥ 0") }
            guard bootstrap >= 100 else { throw ValidationError("--bootstrap must be at least 100") }
        }

        func run() throws {
            if worst > 0 { try checkedOutput(worstGrid, option: "--worst-grid", inputs: [samples]) }
            let scorer = try classifier.scorer()
            var options = classifier.scoringOptions
            options.bootstrapResamples = bootstrap
            options.keepWorst = max(worst, heatmapCount)
            options.perImage = perImage
            var (score, worstSamples) = try scorer.score(URL(fileURLWithPath: samples), options: options,
                                                         realism: try classifier.realismReference(model: scorer.classifier.card))
            if worst > 0 { try writeMostDistortedGrid(worstSamples, to: URL(fileURLWithPath: worstGrid)) }
            if let heatmap {
                score.heatmaps = try writeSeamHeatmaps(worstSamples, count: heatmapCount, to: URL(fileURLWithPath: heatmap))
            }
            if json {
                print(try jsonText(score, style: .document))
                return
            }
            Self.printSummary(score, classifier: scorer.location, worstGrid: worst > 0 ? (worstSamples.count, worstGrid) : nil, heatmaps: heatmap)
        }

        /// The score as the text `distortion score` prints (the demo prints each model's the same way):
        /// worstGrid, heatmaps: where the most distorted samples went, when they were drawn.
        static func printSummary(_ score: DistortionScore, classifier: String, worstGrid: (count: Int, path: String)?, heatmaps: String?) {
            print("distortion rate \(percent(score.distortionRate))  (\(Int(score.confidence * 100))% CI \(percent(score.ciLow))–\(percent(score.ciHigh)))")
            print("  \(score.flagged) of \(score.count) samples over threshold \(String(format: "%.4f", score.threshold)) " +
                  "(chosen for \(percent(score.falsePositiveRate)) false positives on clean reference images)")
            print("  classifier \(classifier), features \(score.featureProvider), image size \(score.imageSize)"
                  + (score.heldOutAUC.map { String(format: ", held-out AUC %.3f", $0) } ?? ""))
            if let c = score.calibration {
                print("  calibration: \(c.method), \(c.folds) folds, \(c.count) clean reference images; achieved FPR \(percent(c.achievedFalsePositiveRate)) "
                      + "(\(Int(c.confidence * 100))% Clopper–Pearson \(percent(c.ciLow))–\(percent(c.ciHigh)))")
            }
            if let r = score.realism {
                print(String(format: "  realism (Inception, %d reference images): precision %.3f, density %.3f, recall %.3f, coverage %.3f — %@",
                             r.referenceCount, r.precision, r.density, r.recall, r.coverage, r.offManifold ? "off the data manifold" : "on the data manifold"))
            }
            for note in score.notes { print("  note: \(note)") }
            if let worstGrid { print("  the \(worstGrid.count) most distorted samples: \(worstGrid.path)") }
            if let heatmaps { print("  patch-seam evidence of the \(score.heatmaps?.count ?? 0) most distorted samples: \(heatmaps)/") }
        }
    }

    struct TrainClassifier: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train", abstract: "Train and save a distortion classifier.")

        @OptionGroup var classifier: ClassifierOptions
        @Option(name: .customLong("labelled-folder"), help: "Human-labelled images, clean=DIR or distorted=DIR (repeatable).")
        var labelledFolders: [String] = []
        @Option(name: .shortAndLong, help: "Output folder (classifier.safetensors + card.json).") var output: String
        @Flag(help: "Print the model card as JSON.") var json = false

        func run() throws {
            guard let ref = classifier.ref else { throw ValidationError("--ref REFERENCE is required") }
            var labelled: LabelledImages?
            if !labelledFolders.isEmpty {
                var clean: [RGBImage] = [], distorted: [RGBImage] = [], sources: [String: String] = [:]
                for item in labelledFolders {
                    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, ["clean", "distorted"].contains(parts[0]) else {
                        throw ValidationError("--labelled-folder takes clean=DIR or distorted=DIR, got '\(item)'")
                    }
                    let images = try LoadedImages(openImageSource(URL(fileURLWithPath: parts[1]))).images
                    if parts[0] == "clean" { clean += images } else { distorted += images }
                    sources[parts[0]] = [sources[parts[0]], parts[1]].compactMap { $0 }.joined(separator: ", ")
                }
                guard clean.count >= 4, distorted.count >= 4 else {
                    throw ValidationError("labelled folders need at least 4 clean and 4 distorted images (found \(clean.count) and \(distorted.count))")
                }
                labelled = LabelledImages(clean: clean, distorted: distorted, sources: sources)
            }
            let provider = try classifier.choice().featureProvider(log: warn)
            let model = try trainDistortionClassifier(reference: try openImageSource(URL(fileURLWithPath: ref)), labelled: labelled,
                                                      features: provider, options: classifier.trainingOptions,
                                                      log: json ? { _ in } : warn)
            try model.save(to: URL(fileURLWithPath: output))
            if json { print(try jsonText(model.card, style: .document)); return }
            printCard(model.card, path: output)
        }

        func printCard(_ card: DistortionModelCard, path: String) {
            print("saved \(path)/\(DistortionClassifier.weightsFile) and \(path)/\(DistortionClassifier.cardFile)")
            print("features \(card.featureProvider) (\(card.featureCount)), images \(card.imageWidth)x\(card.imageHeight), " +
                  "reference: \(card.split.train) images, each calibrated on by the fold model that left it out; each kind applied to \(card.split.test)")
            print("threshold \(String(format: "%.4f", card.threshold)) for \(percent(card.falsePositiveRate)) false positives; " +
                  "clean test images flagged: \(percent(card.testCleanRate))")
            if let c = card.calibration {
                print("calibration: \(c.method), \(c.folds) folds over \(c.count) clean reference images; achieved FPR \(percent(c.achievedFalsePositiveRate)) "
                      + "(\(c.flagged) of \(c.count); \(Int(c.confidence * 100))% Clopper–Pearson \(percent(c.ciLow))–\(percent(c.ciHigh))); "
                      + "each fold at the other folds' threshold: \(percent(c.heldOutFoldRate))")
            }
            print("kind                 held out  count  detected  bal.acc   AUC")
            for r in card.perKind + [card.trainingSummary, card.heldOutSummary] {
                print(r.kind.padding(toLength: 20, withPad: " ", startingAt: 0) + "  " + (r.heldOut ? "yes" : "no ").padding(toLength: 8, withPad: " ", startingAt: 0)
                      + String(format: "%6d  %7.1f%%  %6.1f%%  %.3f", r.count, r.detectionRate * 100, r.balancedAccuracy * 100, r.auc))
            }
            for note in card.notes + ClassifierStrength(card: card).notes { print("note: \(note)") }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distortion rates of several sample batches with CIs, pairwise tests and a bar chart.",
            discussion: """
            Each pair is tested twice, Holm-adjusted across pairs: a two-proportion z-test on the rates, and a \
            Mann–Whitney U test on the samples' p(distorted) with the probability of superiority P(a > b) \
            (ties half). The second still ranks models whose rates are all saturated near 100%.
            """)

        @Argument(help: "Sample batches (ADM .npz, .npy or folders).") var samples: [String]
        @OptionGroup var classifier: ClassifierOptions
        @Option(help: "Comma-separated names, one per batch (default: file names).") var labels: String?
        @Option(name: .shortAndLong, help: "Write the bar chart as SVG.") var output: String?
        @Option(help: "Write the bar chart as PNG.") var png: String?
        @Option(help: "Write the comparison as JSON (for `dimr-eval report --compare`).") var saveJson: String?
        @Flag(help: "Print JSON.") var json = false
        @Option(parsing: .unconditional, help: "Bootstrap resamples for each confidence interval.") var bootstrap: Int = 1000

        func validate() throws {
            guard samples.count >= 2 else { throw ValidationError("compare needs at least two sample batches") }
            if let labels, labels.split(separator: ",", omittingEmptySubsequences: false).count != samples.count {
                throw ValidationError("--labels has \(labels.split(separator: ",").count) names for \(samples.count) batches")
            }
        }

        func run() throws {
            let names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? samples.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
            for (path, option) in [(output, "-o"), (png, "--png"), (saveJson, "--save-json")] {
                if let path { try checkedOutput(path, option: option, inputs: samples) }
            }
            let scorer = try classifier.scorer()
            var options = classifier.scoringOptions
            options.bootstrapResamples = bootstrap
            let comparison = try scorer.compare(samples.map { URL(fileURLWithPath: $0) }, labels: names, options: options,
                                                realism: try classifier.realismReference(model: scorer.classifier.card))
            try writeDistortionRateChart(comparison, confidence: options.confidence, svg: output.map { URL(fileURLWithPath: $0) },
                                         png: png.map { URL(fileURLWithPath: $0) })
            if let saveJson { try writeAtomically(Data(try jsonText(comparison, style: .document).utf8), to: URL(fileURLWithPath: saveJson)) }
            if json { print(try jsonText(comparison, style: .document)); return }
            Self.printSummary(comparison, confidence: options.confidence, charts: [output, png].compactMap { $0 })
        }

        /// The comparison as the text `distortion compare` prints (the demo prints its own the same way).
        static func printSummary(_ comparison: DistortionComparison, confidence: Double, charts: [String]) {
            let names = comparison.labels, scores = comparison.scores
            let width = max(8, names.map(\.count).max() ?? 8)
            print("model".padding(toLength: width, withPad: " ", startingAt: 0) + "  samples  flagged    rate   "
                  + "\(Int(confidence * 100))% CI".padding(toLength: 16, withPad: " ", startingAt: 0) + "  median p(distorted)")
            for (name, s) in zip(names, scores) {
                let ci = String(format: "[%.1f%%, %.1f%%]", s.ciLow * 100, s.ciHigh * 100)
                print(name.padding(toLength: width, withPad: " ", startingAt: 0)
                      + String(format: "  %7d  %7d  %6.1f%%  ", s.count, s.flagged, s.distortionRate * 100)
                      + ci.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "  %.4f", s.medianProbability ?? .nan))
            }
            print("pairwise two-proportion z-tests (Holm-adjusted):")
            for p in comparison.pairs {
                print(String(format: "  %@ vs %@: %+.1f points, z = %.2f, p = %.3g (Holm %.3g)%@", p.a, p.b, p.difference * 100, p.z, p.p, p.pHolm,
                             p.significant ? ", significant at 5%" : ""))
            }
            print("pairwise Mann–Whitney U tests on p(distorted) (Holm-adjusted; P(a > b) > 0.5: a's samples score higher):")
            for p in comparison.pairs {
                guard let t = p.scoreTest else { continue }
                print(String(format: "  %@ vs %@: P(%@ > %@) = %.3f, U = %.1f, p = %.3g (Holm %.3g)%@", p.a, p.b, p.a, p.b, t.superiority,
                             t.u, t.p, t.pHolm, t.significant ? ", significant at 5%" : ""))
            }
            if comparison.ratesUninformative {
                let why = comparison.ratesSaturated
                    ? "every rate is at least \(percent(DistortionComparison.saturatedRate)) (saturated)" : "the rate tests separate no pair"
                print("note: \(why), so the rates do not rank these models; " + (comparison.scoreRankingSummary ?? "no per-image scores were kept to rank them otherwise") + ".")
            }
            for (name, s) in zip(names, scores) {
                guard let r = s.realism else { continue }
                print(String(format: "realism of %@ (Inception, %d reference images): precision %.3f, density %.3f — %@", name, r.referenceCount,
                             r.precision, r.density, r.offManifold ? "off the data manifold" : "on the data manifold"))
            }
            for note in Set(scores.flatMap(\.notes)).sorted() { print("note: \(note)") }
            for chart in charts { print("chart: \(chart)") }
        }
    }
}
