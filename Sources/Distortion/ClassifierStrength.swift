import Foundation
import TensorIO

/// Whether a classifier has learnt enough for its rate to mean anything, judged by its
/// cross-fitted AUC on the distortion kinds it never trained on (the card's `heldOutSummary`).
/// A classifier that learnt nothing still has a calibrated threshold, so it reports a tidy rate
/// near the FPR — or 0 with CI [0, 0] (a 40-image noise reference: AUC 0.47) — which reads as
/// "no distortion" when it means "cannot see distortion". Below `warnBelow` the score says so in
/// `notes`; below `refuseBelow` the commands refuse to report a rate unless forced.
public struct ClassifierStrength: Sendable {
    public static let warnBelow = 0.7
    public static let refuseBelow = 0.6

    public let heldOutAUC: Double

    public init(card: DistortionModelCard) { heldOutAUC = card.heldOutSummary.auc }

    /// AUC below `refuseBelow`, or not a number (no held-out distortions were scored).
    public var refused: Bool { !(heldOutAUC >= Self.refuseBelow) }

    public var notes: [String] {
        let auc = String(format: "%.3f", heldOutAUC)
        if refused {
            return ["the classifier cannot tell distorted from clean images (held-out AUC \(auc) < \(Self.refuseBelow)): this rate means nothing"]
        }
        if heldOutAUC < Self.warnBelow {
            return ["the classifier is weak (held-out AUC \(auc) < \(Self.warnBelow)): a low rate may mean it misses distortion, not that there is none"]
        }
        return []
    }

    /// Throws unless the classifier is strong enough or `force` is set. `classifier` names it in the message.
    public func check(force: Bool, classifier: String) throws {
        guard refused && !force else { return }
        throw FormatError(file: classifier, field: "held-out AUC",
                          expected: "at least \(Self.refuseBelow) for a distortion rate to mean anything (a larger or more varied reference, or --force to score anyway)",
                          found: String(format: "%.3f", heldOutAUC))
    }
}
