import Foundation
import TensorCore

/// The threshold of a split-conformal test at level α from n clean calibration scores: the
/// ⌈(n + 1)(1 − α)⌉-th smallest (Vovk et al. 2005; Lei et al. 2018). A new clean image exchangeable
/// with the calibration images then scores strictly above it with probability at most α (and more
/// than α − 1/(n + 1)). The plain (1 − α) quantile instead promises α only as n → ∞ and runs over
/// it at small n. When (n + 1)(1 − α) > n no finite threshold keeps the promise: +∞ (nothing is
/// flagged), and the caller is told so by `count`.
public func conformalThreshold(_ cleanScores: [Double], falsePositiveRate alpha: Double) -> Double {
    precondition(!cleanScores.isEmpty, "threshold calibration needs clean scores")
    precondition(alpha > 0 && alpha < 1, "false-positive rate must be in (0, 1)")
    let sorted = cleanScores.sorted(), n = sorted.count
    let rank = Int((Double(n + 1) * (1 - alpha)).rounded(.up))
    return rank > n ? .infinity : sorted[rank - 1]
}

/// K-fold cross-fitting over groups (a reference image with all the synthetic distortions made
/// from it is one group). Each group belongs to one fold; the model for fold k is fitted on every
/// other fold and scores only fold k, so every group's score comes from a model that never saw
/// it — and every reference image serves calibration, not just a held-out quarter.
public struct CrossFitting: Sendable {
    public let folds: Int
    /// fold[g]: the fold of group g (seeded shuffle, then round-robin, so fold sizes differ by ≤ 1).
    public let fold: [Int]

    public init(groups: Int, folds: Int, seed: UInt64) {
        precondition(folds >= 2 && groups >= folds, "cross-fitting needs at least 2 folds and a group per fold (\(groups) groups, \(folds) folds)")
        self.folds = folds
        var order = Array(0..<groups)
        var rng = SplitMix64(seed: seed, stream: "cross-fit-folds", index: 0)
        order.shuffle(using: &rng)
        var fold = [Int](repeating: 0, count: groups)
        for (position, g) in order.enumerated() { fold[g] = position % folds }
        self.fold = fold
    }

    /// Out-of-fold scores. `fit(trainingGroups)` fits a model on the groups marked true and
    /// returns its scorer; `scorer(groups)` then scores items of exactly those (held-out) groups,
    /// one array of scores per group. Returns each group's scores, by group.
    public func outOfFold<Score>(fit: (_ trainingGroups: [Bool]) throws -> (_ heldOutGroups: [Int]) throws -> [Score]) throws -> [Score] {
        var result = [Score?](repeating: nil, count: fold.count)
        for k in 0..<folds {
            let heldOut = fold.indices.filter { fold[$0] == k }
            let scorer = try fit(fold.map { $0 != k })
            let scores = try scorer(heldOut)
            precondition(scores.count == heldOut.count, "the fold-\(k) scorer returned \(scores.count) scores for \(heldOut.count) groups")
            for (g, s) in zip(heldOut, scores) { result[g] = s }
        }
        return result.map { $0! }
    }
}

/// How the threshold was calibrated and what it achieved on the calibration images, as stored in
/// the model card and repeated in `distortion score --json` (`calibration`).
public struct CalibrationSummary: Codable, Sendable, Equatable {
    public static let crossFittedConformal = "cross-fitted split-conformal"
    /// `crossFittedConformal`, or "single split" for format-1 cards (which have no other fields set).
    public var method: String
    public var folds: Int
    /// Clean reference images whose cross-fitted scores set the threshold.
    public var count: Int
    public var targetFalsePositiveRate: Double
    /// Share of the calibration images' cross-fitted scores above the threshold, with its
    /// Clopper–Pearson interval. By construction ≤ target, so this says how tight the target is.
    public var flagged: Int
    public var achievedFalsePositiveRate: Double
    public var ciLow: Double
    public var ciHigh: Double
    public var confidence: Double
    /// Each fold flagged at the threshold calibrated on the other folds' scores, pooled: the
    /// calibration procedure's false-positive rate on images its threshold never saw.
    public var heldOutFoldRate: Double

    enum CodingKeys: String, CodingKey {
        case method, folds, count, targetFalsePositiveRate = "target_fpr", flagged
        case achievedFalsePositiveRate = "achieved_fpr", ciLow = "ci_low", ciHigh = "ci_high", confidence
        case heldOutFoldRate = "held_out_fold_rate"
    }

    /// Calibrates on `scores` (one cross-fitted clean score per reference image, `fold[i]` its fold).
    public init(crossFittedScores scores: [Double], fold: [Int], folds: Int, falsePositiveRate alpha: Double,
                confidence: Double = 0.95) {
        method = Self.crossFittedConformal
        self.folds = folds
        count = scores.count
        targetFalsePositiveRate = alpha
        self.confidence = confidence
        let threshold = conformalThreshold(scores, falsePositiveRate: alpha)
        flagged = scores.filter { $0 > threshold }.count
        achievedFalsePositiveRate = Double(flagged) / Double(scores.count)
        (ciLow, ciHigh) = clopperPearsonInterval(successes: flagged, trials: scores.count, confidence: confidence)
        var heldOutFlagged = 0
        for k in 0..<folds {
            let inside = scores.indices.filter { fold[$0] == k }, outside = scores.indices.filter { fold[$0] != k }
            guard !inside.isEmpty, !outside.isEmpty else { continue }
            let t = conformalThreshold(outside.map { scores[$0] }, falsePositiveRate: alpha)
            heldOutFlagged += inside.filter { scores[$0] > t }.count
        }
        heldOutFoldRate = Double(heldOutFlagged) / Double(scores.count)
    }
}
