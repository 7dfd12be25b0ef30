import Eval
import Foundation
import TensorCore
import XCTest

/// LabelAccuracy against scikit-learn on the same data (fixtures/metrics/label_accuracy.json, made
/// by scripts/fixtures/label_accuracy_golden.py), on data taller and wider than they are long: probabilities within 1e-6 (both solved to a tight
/// optimum of the same strictly convex objective), predictions, accuracy and the cross-fitted
/// reference accuracy equal.
final class LabelAccuracyTests: XCTestCase {
    let goldenFile: [String: Any] = {
        let data = try! Data(contentsOf: metricsFixture("label_accuracy.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    /// The golden script's integer-formula data, rebuilt exactly.
    func formulaData(rows: Int, offset: Int, classes: Int = 5, dim: Int = 12) -> (Tensor, [Int]) {
        let labels = (0..<rows).map { ($0 * 3 + offset) % classes }
        var values = [Float]()
        for i in 0..<rows {
            for j in 0..<dim {
                let r = i + offset
                let base = Double((r * 37 + j * 101 + 13 * r * j + 7) % 97) / 97.0 * 2 - 1
                values.append(Float(base + 0.5 * (j % classes == labels[i] ? 1 : 0) + 0.25 * ((j + 2) % classes == labels[i] ? 1 : 0)))
            }
        }
        return (Tensor(shape: [rows, dim], values: values), labels)
    }

    func testMatchesScikitLearn() throws {
        let (x, y) = formulaData(rows: 150, offset: 0)
        let (xt, yt) = formulaData(rows: 80, offset: 1000)
        let classifier = LabelClassifier.fit(features: x, labels: y)
        let probabilities = classifier.probabilities(xt)
        let expected = (goldenFile["probabilities"] as! [[Double]]).flatMap { $0 }
        XCTAssertEqual(probabilities.count, expected.count)
        let worst = zip(probabilities, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-6, "largest probability difference against scikit-learn")
        XCTAssertEqual(classifier.predict(xt), goldenFile["predictions"] as! [Int])

        let result = try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: xt, sampleLabels: yt)
        XCTAssertEqual(result.accuracy, goldenFile["accuracy"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(result.referenceAccuracy, goldenFile["reference_accuracy"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(result.classes, 5)
        // The data are not trivially separable: a test that cannot fail would not say much.
        XCTAssertGreaterThan(result.accuracy, 0.3); XCTAssertLessThan(result.accuracy, 0.95)
    }

    /// Fewer rows than columns (40 × 120): the fit runs in the rows' span (`RowSpan`), which must
    /// reach scikit-learn's optimum over all 120 columns.
    func testWideDataMatchScikitLearn() throws {
        let wide = goldenFile["wide"] as! [String: Any]
        let (x, y) = formulaData(rows: 40, offset: 0, dim: 120)
        let (xt, _) = formulaData(rows: 30, offset: 1000, dim: 120)
        let classifier = LabelClassifier.fit(features: x, labels: y)
        let expected = (wide["probabilities"] as! [[Double]]).flatMap { $0 }
        let worst = zip(classifier.probabilities(xt), expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-6, "largest probability difference against scikit-learn")
        XCTAssertEqual(classifier.predict(xt), wide["predictions"] as! [Int])
    }

    func testAKnownReferenceAccuracySkipsOnlyTheFolds() throws {
        let (x, y) = formulaData(rows: 150, offset: 0)
        let (xt, yt) = formulaData(rows: 80, offset: 1000)
        let full = try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: xt, sampleLabels: yt)
        let reused = try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: xt, sampleLabels: yt,
                                               knownReferenceAccuracy: full.referenceAccuracy)
        XCTAssertEqual(reused, full)
    }

    func testLabelsKeepTheirValues() throws {
        // Labels need not be 0…K−1: the classifier reports them as given.
        let (x, y) = formulaData(rows: 150, offset: 0)
        let shifted = y.map { $0 * 10 + 7 }
        let a = LabelClassifier.fit(features: x, labels: y), b = LabelClassifier.fit(features: x, labels: shifted)
        XCTAssertEqual(b.classes, [7, 17, 27, 37, 47])
        XCTAssertEqual(b.predict(x), a.predict(x).map { $0 * 10 + 7 })
    }

    func testSamplesOfClassesTheReferenceLacksAreLeftOut() throws {
        let (x, y) = formulaData(rows: 150, offset: 0)
        let (xt, yt) = formulaData(rows: 80, offset: 1000)
        let all = try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: xt, sampleLabels: yt)
        // The same samples plus ten drawn for class 9, which the reference does not hold.
        let extra = Tensor(shape: [90, 12], values: Array(UnsafeBufferPointer(start: xt.data, count: xt.count)) + [Float](repeating: 0.5, count: 120))
        let partial = try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: extra, sampleLabels: yt + [Int](repeating: 9, count: 10))
        XCTAssertEqual(partial.excluded, 10)
        XCTAssertEqual(partial.samples, 80)
        XCTAssertEqual(partial.accuracy, all.accuracy, accuracy: 1e-12)
    }

    func testBadLabelsAreRefusedWithTheFileNamed() {
        let (x, y) = formulaData(rows: 40, offset: 0)
        XCTAssertThrowsError(try LabelAccuracy.compute(reference: x, referenceLabels: y, samples: x, sampleLabels: y.map { $0 + 20 },
                                                       samplesName: "samples.npz")) {
            XCTAssertTrue("\($0)".contains("samples.npz") && "\($0)".contains("arr_1") && "\($0)".contains("20"), "\($0)")
        }
        XCTAssertThrowsError(try LabelAccuracy.compute(reference: x, referenceLabels: Array(y.dropLast()), samples: x, sampleLabels: y,
                                                       referenceName: "ref.npz")) {
            XCTAssertTrue("\($0)".contains("ref.npz") && "\($0)".contains("39 labels"), "\($0)")
        }
        XCTAssertThrowsError(try LabelAccuracy.compute(reference: x, referenceLabels: y.map { _ in 3 }, samples: x, sampleLabels: y.map { _ in 3 }))
    }
}
