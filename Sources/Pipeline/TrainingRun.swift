import DiMRTrainer
import Distortion
import Eval
import Foundation
import TensorIO

/// One model trained into its run folder and scored at every checkpoint: `dimr-eval train`, and
/// each model of the demo. `prepare` settles what is trained (a new run, or the saved one
/// continued), `run` trains it: every logged step goes to DIR/train_log.jsonl (the report's loss
/// curve), each checkpoint's scores (`TrainingScorer`) to DIR/metrics.jsonl.
public final class TrainingRun {
    public let request: TrainingRequest
    public let trainer: Trainer
    /// The model and data trained, e.g. "dit tiny: 1234 parameters (blocks 1000, …); data: …".
    public let header: String
    private let scorer: TrainingScorer?
    private let log: (String) -> Void

    private init(request: TrainingRequest, trainer: Trainer, header: String, scorer: TrainingScorer?, log: @escaping (String) -> Void) {
        self.request = request; self.trainer = trainer; self.header = header; self.scorer = scorer; self.log = log
    }

    /// The run `request` asks for, ready to train; nil when the saved run it resumes is already
    /// at `request.steps` (log says so). Temporaries a killed run left in the folder are removed
    /// first. Refused (`OptionRefusal`): a new run where one is saved, and a resumed run whose
    /// settings the request contradicts. log: notes for the user (the CLI prints them to stderr);
    /// featureCache, classifierCache: the scorer's (default: the user's, as `TrainingScorer`'s).
    public static func prepare(_ request: TrainingRequest, featureCache: FeatureCache? = try? FeatureCache(),
                               classifierCache: DistortionClassifierCache = DistortionClassifierCache(),
                               log: @escaping (String) -> Void) throws -> TrainingRun? {
        let folder = request.folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for sub in ["", "checkpoints", "samples"] {   // temporaries of a killed run (never those of a live one)
            for url in StaleTemporaries.remove(in: sub.isEmpty ? folder : folder.appendingPathComponent(sub)) { log(StaleTemporaries.removalNote(url)) }
        }
        var config = request.newTrainingConfig()
        let latest = folder.appendingPathComponent("latest.json")
        if !request.resume && FileManager.default.fileExists(atPath: latest.path) {
            throw OptionRefusal("\(folder.relativePath) already holds a run (\(latest.path)); pass --resume to continue it, or choose another --out")
        }
        var resumedState: CheckpointState?
        if request.resume {
            // The saved run decides model and training settings, except the step target; a
            // setting given now that says otherwise is refused rather than silently ignored.
            let (state, _) = try Checkpoint.loadState(folder)
            let differences = request.contradictions(model: state.model, training: state.training)
            guard differences.isEmpty else {
                throw OptionRefusal("--resume: the options contradict the run saved in \(latest.path):\n  "
                                    + differences.joined(separator: "\n  ")
                                    + "\nleave them out to continue the run as saved, or train a new run with another --out")
            }
            resumedState = state
            config = state.training
        }
        let trainingData: TrainingData = try request.data.map { try ImageSourceTrainingData(url: $0, seed: config.seed) }
            ?? EmbeddedTrainingData(seed: config.seed)
        var modelConfiguration = try modelConfig(request.architecture, preset: request.preset ?? "tiny", imageSize: trainingData.imageSize,
                                                 channels: 3, numClasses: trainingData.numClasses)
        modelConfiguration.prediction = request.prediction ?? TrainConfig.recipePrediction
        modelConfiguration.positionInit = request.positionInit ?? TrainConfig.recipePositionInit
        if let state = resumedState {
            if state.step >= request.steps {
                log("\(folder.relativePath): already at step \(state.step) (--steps \(request.steps)); nothing to do")
                return nil
            }
            modelConfiguration = state.model
            config.steps = request.steps
        }
        let model = try makeModel(modelConfiguration, seed: config.seed)
        let trainer = try Trainer(model: model, data: trainingData, config: config, runFolder: folder)
        if request.resume { try trainer.resume() }
        let header = "\(modelConfiguration.architecture.rawValue) \(modelConfiguration.preset): \(model.parameters.count) parameters ("
            + model.parameters.countsByComponent.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "); data: \(trainingData.description)"
        let scorer = !request.score ? nil
            : TrainingScorer(folder: folder, referenceCount: request.referenceCount, provider: ExtractorProvider(progress: false, cache: featureCache),
                             classifierCache: classifierCache, log: log)
        return TrainingRun(request: request, trainer: trainer, header: header, scorer: scorer, log: log)
    }

    /// Trains to `request.steps`. step: every `logEvery` steps, the step's log and its line of
    /// train_log.jsonl (JSON with `"event": "step"`; a diverged run's NaN loss as the string
    /// "NaN"); evaluation: each checkpoint's record of metrics.jsonl.
    public func run(logEvery: Int, step: (StepLog, String) -> Void, evaluation: ([String: JSONValue]) -> Void) throws {
        let stepLog = try StepLogFile(request.folder.appendingPathComponent("train_log.jsonl"),
                                      continuingAfter: request.resume ? trainer.step : 0)
        var warnedNonFinite = false
        try trainer.run(logEvery: logEvery, log: { entry in
            if !entry.loss.isFinite && !warnedNonFinite {
                warnedNonFinite = true
                log("warning: the loss is \(entry.loss) at step \(entry.step): training diverged (try a lower --lr)")
            }
            let line = jsonEventLine(entry, event: "step", nonFinite: Checkpoint.nonFiniteAsStrings)
            stepLog.append(line)
            step(entry, line)
        }, evaluationLog: evaluation, evaluate: scorer.map { scorer in
            { try scorer.score(step: $0.step, samples: $0.samples, labels: $0.labels, reference: $0.data.referenceImages) }
        })
    }
}
