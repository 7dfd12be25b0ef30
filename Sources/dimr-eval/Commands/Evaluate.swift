import ArgumentParser
import Eval
import Foundation
import TensorIO

/// `dimr-eval eval SAMPLES REF`: ADM's table (IS, FID, sFID, precision, recall) plus density,
/// coverage and KID, from one feature pass over each input.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Every metric in one pass: FID, sFID, IS, precision, recall, density, coverage, KID.",
        discussion: """
        SAMPLES and REF: ADM batches (.npz, arr_0 uint8 NHWC), .npy, image folders or features files;
        REF may also be an ADM reference batch holding arr_0 and precomputed mu/sigma/mu_s/sigma_s
        (the statistics serve FID/sFID, the images precision/recall — as ADM's evaluator), or a
        statistics file (then only FID/sFID). IS needs weights with the 1008-class head (pytorch-fid's
        .pth); with the default TorchScript weights it is null with the reason.
        --fid-infinity adds FID∞ and IS∞ (Chong & Forsyth 2020: scores of 15 subsets from --fid-infinity-min \
        to N samples, extrapolated to 1/N → 0 as the authors' code does) and a percentile bootstrap interval \
        of FID (samples resampled, reference fixed). Images read before are served from the feature cache.
        """)

    @Argument(help: "Generated samples.") var samples: String
    @Argument(help: "Reference batch.") var reference: String
    @OptionGroup var inception: InceptionOptions
    @Option(parsing: .unconditional, help: "Neighbourhood size of precision/recall (ADM: 3).") var k = 3
    @Option(name: .customLong("density-k"), parsing: .unconditional, help: "Neighbourhood size of density/coverage (prdc: 5).") var densityK = 5
    @Option(name: .customLong("pr-precision"), help: "Distance arithmetic for precision/recall: fp32, or fp16 as ADM's GPU evaluator.")
    var prPrecision: DistancePrecision = .fp32
    @Option(name: .customLong("kid-subsets"), parsing: .unconditional, help: "KID: number of random subsets.") var kidSubsets = 100
    @Option(name: .customLong("kid-subset-size"), parsing: .unconditional, help: "KID: images per subset (capped at the smaller set).") var kidSubsetSize = 1000
    @Option(parsing: .unconditional, help: "Seed of numpy's RandomState for KID's subsets (and FID∞'s shuffles and bootstrap).") var seed: UInt32 = 0
    @Flag(name: .customLong("fid-infinity"), help: "Also FID∞, IS∞ and a bootstrap interval of FID.") var fidInfinity = false
    @Option(name: .customLong("fid-infinity-points"), parsing: .unconditional, help: "FID∞/IS∞: subset sizes fitted.") var fidInfinityPoints = 15
    @Option(name: .customLong("fid-infinity-min"), parsing: .unconditional,
            help: "FID∞/IS∞: smallest subset (default: 5,000 as the authors, or half the samples below 10,000).")
    var fidInfinityMin: Int?
    @Option(name: .customLong("fid-bootstrap"), parsing: .unconditional, help: "Resamples of FID's bootstrap interval (each costs one FID of N samples).")
    var fidBootstrap = 200
    @Option(name: .customLong("is-splits"), parsing: .unconditional, help: "IS: number of consecutive splits (ADM: 10 of 5000 at 50k).") var isSplits = 10
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Also write the JSON report to this file (atomically), e.g. for `dimr-eval report`.") var saveJson: String?

    func validate() throws {
        try requirePositive(k, "--k")
        try requirePositive(densityK, "--density-k")
        try requirePositive(kidSubsets, "--kid-subsets")
        try require(kidSubsetSize >= 2, "--kid-subset-size", "at least 2", kidSubsetSize)
        try requirePositive(isSplits, "--is-splits")
        try require(fidInfinityPoints >= 2, "--fid-infinity-points", "at least 2", fidInfinityPoints)
        try require(fidBootstrap >= 2, "--fid-bootstrap", "at least 2", fidBootstrap)
        if let fidInfinityMin { try require(fidInfinityMin >= 2, "--fid-infinity-min", "at least 2", fidInfinityMin) }
    }

    /// The options as the suite's settings (`--fid-infinity` adds FID∞, IS∞ and FID's interval).
    var settings: MetricSuite.Settings {
        var settings = MetricSuite.Settings()
        settings.k = k; settings.densityK = densityK; settings.distancePrecision = prPrecision
        settings.kidSubsets = kidSubsets; settings.kidSubsetSize = kidSubsetSize; settings.kidSeed = seed
        settings.isSplits = isSplits
        if fidInfinity {
            var unbiased = MetricSuite.UnbiasedSettings()
            unbiased.points = fidInfinityPoints; unbiased.minimumSize = fidInfinityMin
            unbiased.seed = seed; unbiased.bootstrapResamples = fidBootstrap
            settings.unbiased = unbiased
        }
        return settings
    }

    func run() throws {
        let provider = try inception.provider()
        let saveURL = try saveJson.map { try checkedOutput($0, option: "--save-json", inputs: [samples, reference]) }
        let report = try MetricSuite.evaluate(samplesFile: URL(fileURLWithPath: samples), referenceFile: URL(fileURLWithPath: reference),
                                              provider: provider, settings: settings)
        if let saveURL {
            try writeAtomically(Data(try jsonText(report, style: .document).utf8), to: saveURL)
        }
        if json { print(try jsonText(report, style: .document)); return }
        print(Self.table(report))
    }

    /// The report as the text `eval` prints (the demo prints each model's the same way).
    static func table(_ r: MetricSuite.Report) -> String {
        func f(_ x: Double?, _ digits: Int = 4) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "n/a" }
        var lines = [
            "samples:   \(r.samples), \(r.sampleCount.map(String.init) ?? "?") images",
            "reference: \(r.reference), \(r.referenceCount.map(String.init) ?? "?") images",
            "Inception Score: \(f(r.inceptionScore)) ± \(f(r.inceptionScoreStd))" + (r.inceptionScoreNote.map { "  (\($0))" } ?? ""),
            "FID: \(f(r.fid))",
            "sFID: \(f(r.sfid))" + (r.sfidNote.map { "  (\($0))" } ?? ""),
            "Precision: \(f(r.precision))",
            "Recall: \(f(r.recall))",
            "Density: \(f(r.density))",
            "Coverage: \(f(r.coverage))",
            "KID: \(f(r.kid, 6)) ± \(f(r.kidStd, 6))",
            "Label accuracy: " + (r.labelAccuracy.map { "\(f($0.accuracy)) (the reference's own, cross-fitted: \(f($0.referenceAccuracy)); chance \(f(1 / Double($0.classes))))" }
                                  ?? "n/a  (\(r.labelAccuracyNote ?? ""))"),
        ]
        if let fit = r.fidInfinity {
            lines.insert("FID∞: \(f(fit.value))  (\(fit.sizes.count) subsets of \(fit.sizes.first!)–\(fit.sizes.last!) samples, slope \(f(fit.slope, 1))/N)", at: 4)
            if let ci = r.fidInterval {
                lines.insert("FID \(Int((ci.confidence * 100).rounded()))% bootstrap interval: [\(f(ci.low)), \(f(ci.high))] (\(ci.resamples) resamples)", at: 5)
            }
            lines.insert("IS∞: \(f(r.inceptionScoreInfinity?.value))" + (r.inceptionScoreInfinityNote.map { "  (\($0))" } ?? ""), at: 3)
        }
        if let note = r.neighbourNote { lines.append("(\(note))") }
        for note in r.notes { lines.append("note: \(note)") }
        let s = r.settings
        lines.append("settings: k=\(s.k) (precision/recall, \(s.distancePrecision.rawValue)), density/coverage k=\(s.densityK), "
                     + "KID \(s.kidSubsets) subsets of \(s.kidSubsetSize), seed \(s.kidSeed), IS \(s.isSplits) splits; "
                     + String(format: "%.1f s", r.seconds))
        return lines.joined(separator: "\n")
    }
}

extension DistancePrecision: ExpressibleByArgument {}
