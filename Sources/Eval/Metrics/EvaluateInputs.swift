import Foundation
import TensorCore

extension MetricSuite {
    /// `dimr-eval eval SAMPLES REF` (and the demo's final scores): every metric of two inputs of
    /// any kind `EvalInput` reads. Both are checked, and the weights loaded, before the first
    /// feature pass; FID/sFID compare statistics and the k-NN metrics features, so both pairs must
    /// come from the same preprocessing (refused otherwise, a note where one side records none).
    /// The report carries those notes and how the feature cache served each side.
    public static func evaluate(samplesFile: URL, referenceFile: URL, provider: ExtractorProvider,
                                settings: Settings) throws -> Report {
        let inputs = try [samplesFile, referenceFile].map { try EvalInput($0) }
        try EvalInput.prepare(inputs, provider, needsNetwork: { $0.needsNetworkForFeatures }, check: { try $0.checkStatisticsPossible() })
        var notes = try checkPreprocessing(inputs[0].statisticsOrigin(provider), inputs[1].statisticsOrigin(provider))
        if inputs.contains(where: { $0.hasStatistics && $0.hasImages }) {
            for note in try checkPreprocessing(inputs[0].featuresOrigin(provider), inputs[1].featuresOrigin(provider)) where !notes.contains(note) {
                notes.append(note)
            }
        }
        func side(_ input: EvalInput) throws -> Side {
            try Side(input, provider, description: "\(input.url.lastPathComponent) (\(input.kindDescription))")
        }
        let fake = try side(inputs[0])
        let real = try side(inputs[1])
        var fc: Tensor?
        var note = ""
        do {
            let extractor = try provider.get()
            fc = extractor.fcWeight
            if fc == nil {
                note = "the weights (\(extractor.weights.url.lastPathComponent)) have no 1008-class head; pass --weights pt_inception-2015-12-05-6726825d.pth (pytorch-fid) for IS"
            }
        } catch {
            note = "no Inception weights to take the 1008-class head from: \(error)"
        }
        var report = try evaluate(samples: fake, reference: real, fcWeight: fc, fcNote: note, settings: settings)
        report.notes = notes
        var cache: [String: FeatureCacheUse] = [:]
        for (name, input) in zip(["samples", "reference"], inputs) { cache[name] = input.cacheUse }
        report.cache = cache
        return report
    }
}
