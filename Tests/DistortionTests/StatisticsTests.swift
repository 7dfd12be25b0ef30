import Distortion
import Foundation
import XCTest

final class StatisticsTests: XCTestCase {
    /// Bootstrap percentile CI: contains the rate, is reproducible with a seed, and its width
    /// matches the normal approximation 2·1.96·√(p(1−p)/n) within 15%.
    func testBootstrapIntervalContainsTheRate() {
        let flags = (0..<1000).map { $0 % 10 < 3 }  // 30%
        let a = bootstrapProportion(flags, resamples: 1000, seed: 5), b = bootstrapProportion(flags, resamples: 1000, seed: 5)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.rate, 0.3)
        XCTAssertLessThan(a.low, 0.3)
        XCTAssertGreaterThan(a.high, 0.3)
        let expected = 2 * 1.96 * (0.3 * 0.7 / 1000).squareRoot()
        XCTAssertEqual(a.high - a.low, expected, accuracy: 0.15 * expected)
        XCTAssertNotEqual(bootstrapProportion(flags, resamples: 1000, seed: 6).low, 2)  // runs with another seed
        let none = bootstrapProportion([Bool](repeating: false, count: 50))
        XCTAssertEqual(none.rate, 0); XCTAssertEqual(none.low, 0); XCTAssertEqual(none.high, 0)
    }

    /// Two-proportion z-test against scipy: z = (p1 − p2)/√(p̂(1−p̂)(1/n1+1/n2)), p = 2·norm.sf(|z|).
    /// scipy values: 30/100 vs 50/100 → z = −2.886751345948129, p = 0.003892417122778628;
    /// 712/1000 vs 292/1000 → z = 18.78312127656951, p = 1.0379526648098641e-78. Tolerance 1e-9 relative.
    func testTwoProportionZTest() {
        let t1 = twoProportionZTest(flagged1: 30, count1: 100, flagged2: 50, count2: 100)
        XCTAssertEqual(t1.z, -2.886751345948129, accuracy: 1e-9)
        XCTAssertEqual(t1.p, 0.003892417122778628, accuracy: 1e-9 * 0.0039)
        let t2 = twoProportionZTest(flagged1: 712, count1: 1000, flagged2: 292, count2: 1000)
        XCTAssertEqual(t2.z, 18.78312127656951, accuracy: 1e-9)
        XCTAssertEqual(t2.p, 1.0379526648098641e-78, accuracy: 1e-9 * 1.04e-78)
        let same = twoProportionZTest(flagged1: 0, count1: 10, flagged2: 0, count2: 20)
        XCTAssertEqual(same.z, 0); XCTAssertEqual(same.p, 1)
        // Holm: sorted p·(m − rank), running maximum (statsmodels multipletests 'holm').
        XCTAssertEqual(holmAdjusted([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06].map { $0 }, "Holm")
    }

    /// AUC against sklearn.metrics.roc_auc_score([1,1,1,0,0,0,1,0], [.9,.4,.4,.4,.1,.35,.8,.7]) = 0.8125 (ties count half).
    func testAreaUnderROC() {
        let scores = [0.9, 0.4, 0.4, 0.4, 0.1, 0.35, 0.8, 0.7], labels = [1, 1, 1, 0, 0, 0, 1, 0]
        let pos = zip(scores, labels).filter { $0.1 == 1 }.map(\.0), neg = zip(scores, labels).filter { $0.1 == 0 }.map(\.0)
        XCTAssertEqual(areaUnderROC(positives: pos, negatives: neg), 0.8125, accuracy: 1e-12)
    }

    /// 100 clean scores 0.00…0.99 at FPR 5%: threshold 0.94, so exactly 0.95…0.99 (5) are above it.
    func testThresholdAtFalsePositiveRate() {
        let clean = (0..<100).map { Double($0) / 100 }.shuffled()
        let t = thresholdAtFalsePositiveRate(clean, falsePositiveRate: 0.05)
        XCTAssertEqual(t, 0.94)
        XCTAssertEqual(clean.filter { $0 > t }.count, 5)
    }

    /// Compare: pairs in order, Holm-adjusted, significance decided on the adjusted p.
    func testComparisonPairs() {
        func score(_ k: Int, _ n: Int) -> DistortionScore {
            DistortionScore(source: "x", distortionRate: Double(k) / Double(n), ciLow: 0, ciHigh: 1, confidence: 0.95, bootstrapResamples: 100,
                            threshold: 0.5, falsePositiveRate: 0.05, count: n, flagged: k, meanProbability: 0.5, featureProvider: "f",
                            resizedFrom: [], imageSize: "32x32", notes: [])
        }
        let c = DistortionComparison(labels: ["DiT", "U-ViT", "DiMR"], scores: [score(710, 1000), score(635, 1000), score(292, 1000)])
        XCTAssertEqual(c.pairs.map { "\($0.a)-\($0.b)" }, ["DiT-U-ViT", "DiT-DiMR", "U-ViT-DiMR"])
        XCTAssertTrue(c.pairs.allSatisfy(\.significant))
        XCTAssertTrue(c.pairs.allSatisfy { $0.pHolm >= $0.p })
        let close = DistortionComparison(labels: ["a", "b"], scores: [score(30, 100), score(33, 100)])
        XCTAssertFalse(close.pairs[0].significant)
    }
}
