import Distortion
import Foundation
import TensorIO
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

    /// Mann–Whitney U test against scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic',
    /// use_continuity=True), run for real: fixtures/distortion/mannwhitney_golden.json (made by
    /// scripts/fixtures/distortion_mannwhitney_golden.py, see fixtures/distortion/COMMANDS.md). Cases: ties,
    /// unequal sizes, scores near 1, separated samples (p ≈ 1e-12), a null case, all values equal and one
    /// value per sample. Tolerance: 1e-12 relative on U and the superiority (half-integer sums, exact in
    /// float64), 1e-9 relative on p (erfc against scipy's ndtr).
    func testMannWhitneyAgainstScipy() throws {
        struct Case: Decodable { var name: String; var x: [Double]; var y: [Double]; var u: Double; var p: Double; var superiority: Double }
        struct Golden: Decodable { var cases: [Case] }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixtures.appendingPathComponent("mannwhitney_golden.json")))
        XCTAssertEqual(golden.cases.count, 9)
        for c in golden.cases {
            let t = mannWhitneyUTest(c.x, c.y)
            XCTAssertEqual(t.u, c.u, accuracy: 1e-12 * max(1, abs(c.u)), "\(c.name): U")
            XCTAssertEqual(t.p, c.p, accuracy: 1e-9 * c.p, "\(c.name): p")
            XCTAssertEqual(t.superiority, c.superiority, accuracy: 1e-12, "\(c.name): superiority")
            // Swapping the samples mirrors U and the superiority and keeps p.
            let swapped = mannWhitneyUTest(c.y, c.x)
            XCTAssertEqual(swapped.u, Double(c.x.count * c.y.count) - c.u, accuracy: 1e-12 * max(1, abs(c.u)), "\(c.name): swapped U")
            XCTAssertEqual(swapped.p, c.p, accuracy: 1e-9 * c.p, "\(c.name): swapped p")
        }
    }

    /// Degenerate inputs give defined numbers, never NaN: all values equal → U = n₁n₂/2, p = 1,
    /// superiority 0.5 (any size, including one value each); one value per sample, distinct → p = 1
    /// (scipy: z = 0 exactly), superiority 0 or 1. The AUC shares the rank sum and still matches.
    func testMannWhitneyDegenerateInputs() {
        for (n1, n2) in [(1, 1), (1, 7), (5, 8), (400, 300)] {
            let t = mannWhitneyUTest([Double](repeating: 0.97, count: n1), [Double](repeating: 0.97, count: n2))
            XCTAssertEqual(t.u, Double(n1 * n2) / 2); XCTAssertEqual(t.p, 1); XCTAssertEqual(t.superiority, 0.5)
        }
        let up = mannWhitneyUTest([0.2], [0.9]), down = mannWhitneyUTest([0.9], [0.2])
        XCTAssertEqual(up.p, 1); XCTAssertEqual(up.superiority, 0); XCTAssertEqual(down.superiority, 1)
        XCTAssertEqual(areaUnderROC(positives: [0.9, 0.4], negatives: [0.4, 0.1]), mannWhitneyUTest([0.9, 0.4], [0.4, 0.1]).superiority)
    }

    /// Split-conformal threshold: the ⌈(n + 1)(1 − α)⌉-th smallest clean score. 100 scores
    /// 0.00…0.99 at 5%: rank ⌈95.95⌉ = 96, threshold 0.95, 4 above it (the plain quantile, 0.94,
    /// leaves 5 above). 19 scores: rank 19, the largest, none above. 18 scores cannot certify 5%
    /// (rank 19 > 18): +∞.
    func testConformalThreshold() {
        let clean = (0..<100).map { Double($0) / 100 }.shuffled()
        let t = conformalThreshold(clean, falsePositiveRate: 0.05)
        XCTAssertEqual(t, 0.95)
        XCTAssertEqual(clean.filter { $0 > t }.count, 4)
        XCTAssertEqual(conformalThreshold((0..<19).map(Double.init), falsePositiveRate: 0.05), 18)
        XCTAssertEqual(conformalThreshold((0..<18).map(Double.init), falsePositiveRate: 0.05), .infinity)
    }

    /// Clopper–Pearson intervals against scipy 1.17.1 (beta.ppf(0.025, k, n − k + 1), beta.ppf(0.975,
    /// k + 1, n − k), anchors venv), to 1e-9; binomial ranges against binom.ppf(0.025 / 0.975, n, 0.05):
    /// 48 → 0…6 (the issue's "97.5% bound for 48 images is 12.5%"), 112 → 2…10, 256 → 6…20, 1024 → 38…65.
    func testClopperPearsonAndBinomialRangeMatchScipy() {
        let cases: [(k: Int, n: Int, low: Double, high: Double)] = [
            (0, 60, 0, 0.05962949228616691), (3, 60, 0.010432329644348225, 0.13924324672107277),
            (10, 48, 0.10469068303290592, 0.34991024025732675), (13, 256, 0.027312525005386005, 0.08527212595645979),
            (256, 256, 0.9856936372709606, 1), (1, 1024, 2.4724116213658914e-05, 0.00542892773706297),
        ]
        for c in cases {
            let ci = clopperPearsonInterval(successes: c.k, trials: c.n)
            XCTAssertEqual(ci.low, c.low, accuracy: 1e-9, "\(c.k)/\(c.n) low")
            XCTAssertEqual(ci.high, c.high, accuracy: 1e-9, "\(c.k)/\(c.n) high")
        }
        XCTAssertEqual(binomialCDF(5, trials: 48, probability: 0.05), 0.9682905156018843, accuracy: 1e-12)
        XCTAssertEqual(binomialCDF(20, trials: 256, probability: 0.05), 0.9811512308436523, accuracy: 1e-12)
        for (n, range) in [(48, 0...6), (112, 2...10), (256, 6...20), (1024, 38...65)] {
            XCTAssertEqual(binomialRange(trials: n, probability: 0.05), range, "n = \(n)")
        }
        // The conformal range: scipy betabinom(256, n + 1 − r, r).ppf(0.025 / 0.975), r = ⌈(n + 1)·0.95⌉.
        for (n, range) in [(128, 3...25), (240, 4...24), (256, 4...22), (1024, 6...21)] {
            XCTAssertEqual(conformalFlaggedRange(calibrationCount: n, heldOut: 256, falsePositiveRate: 0.05), range, "n = \(n)")
        }
    }

    /// Compare: pairs in order, Holm-adjusted, significance decided on the adjusted p.
    func testComparisonPairs() {
        let c = DistortionComparison(labels: ["DiT", "U-ViT", "DiMR"], scores: [score(710, 1000), score(635, 1000), score(292, 1000)])
        XCTAssertEqual(c.pairs.map { "\($0.a)-\($0.b)" }, ["DiT-U-ViT", "DiT-DiMR", "U-ViT-DiMR"])
        XCTAssertTrue(c.pairs.allSatisfy(\.significant))
        XCTAssertTrue(c.pairs.allSatisfy { $0.pHolm >= $0.p })
        let close = DistortionComparison(labels: ["a", "b"], scores: [score(30, 100), score(33, 100)])
        XCTAssertFalse(close.pairs[0].significant)
        XCTAssertNil(close.pairs[0].scoreTest)
        XCTAssertTrue(close.ratesUninformative); XCTAssertFalse(close.ratesSaturated)
        XCTAssertFalse(c.ratesUninformative)
    }

    /// Saturated rates (all samples flagged) with scores that still differ: the rate tests find
    /// nothing, the score tests rank the models, Holm runs over the score tests' own p-values, and
    /// the JSON carries them as "score_test" (and still reads without them).
    func testComparisonScoreTests() throws {
        let high = (0..<60).map { 0.95 + Double($0) / 1200 }, low = (0..<60).map { 0.90 + Double($0) / 1200 }
        let mixed = (0..<60).map { 0.90 + Double($0) / 600 }
        let c = DistortionComparison(labels: ["DiT", "U-ViT", "DiMR"], scores: [score(60, 60), score(60, 60), score(60, 60)],
                                     perImage: [high, low, mixed])
        XCTAssertTrue(c.ratesSaturated); XCTAssertTrue(c.ratesUninformative)
        XCTAssertFalse(c.pairs.contains(where: \.significant))
        let tests = c.pairs.map { $0.scoreTest! }
        XCTAssertEqual(tests.map(\.superiority), [1, mannWhitneyUTest(high, mixed).superiority, mannWhitneyUTest(low, mixed).superiority])
        XCTAssertEqual(tests.map(\.pHolm), holmAdjusted([mannWhitneyUTest(high, low).p, mannWhitneyUTest(high, mixed).p,
                                                          mannWhitneyUTest(low, mixed).p]))
        XCTAssertTrue(tests[0].significant)
        XCTAssertEqual(tests[0].u, 3600)
        let json = try jsonText(c, style: .line)
        XCTAssertTrue(json.contains("\"score_test\":{"), json)
        let old = try JSONDecoder().decode(DistortionComparison.self, from: Data(#"{"labels":["a"],"scores":[],"pairs":[{"a":"a","b":"b","difference":0,"z":0,"p":1,"p_holm":1,"significant":false}]}"#.utf8))
        XCTAssertNil(old.pairs[0].scoreTest)
    }
}

/// A distortion score with `k` of `n` samples flagged (the comparison reads only the counts and rate).
private func score(_ k: Int, _ n: Int) -> DistortionScore {
    DistortionScore(source: "x", distortionRate: Double(k) / Double(n), ciLow: 0, ciHigh: 1, confidence: 0.95, bootstrapResamples: 100,
                    threshold: 0.5, falsePositiveRate: 0.05, count: n, flagged: k, meanProbability: 0.5, featureProvider: "f",
                    resizedFrom: [], imageSize: "32x32", notes: [])
}
