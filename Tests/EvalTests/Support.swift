import Eval
import Foundation
import TensorCore
import TensorIO
import XCTest

/// fixtures/metrics/<name>, made by scripts/fixtures/metrics_make.py (see fixtures/metrics/COMMANDS.md).
func metricsFixture(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/metrics").appendingPathComponent(name)
}

/// The reference tools' values (fixtures/metrics/golden.json).
let golden: [String: Any] = {
    let data = try! Data(contentsOf: metricsFixture("golden.json"))
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}()

func goldenValue(_ path: String) -> Double {
    var node: Any = golden
    for key in path.split(separator: ".") { node = (node as! [String: Any])[String(key)]! }
    return (node as! NSNumber).doubleValue
}

/// Synthetic features of the fixtures: uint8 codes, feature = code / 16 (exact in every precision).
struct FixtureFeatures {
    let pool: Tensor      // (N, 2048)
    let spatial: Tensor   // (N, 2023)
    static let samples = FixtureFeatures("features_samples.npz")
    static let reference = FixtureFeatures("features_ref.npz")

    init(_ name: String) {
        let npz = try! NpzFile(contentsOf: metricsFixture(name))
        func load(_ key: String) -> Tensor {
            let a = try! npz.array(key)
            return Tensor(shape: a.shape, values: try! a.asFloats().map { $0 / 16 })
        }
        pool = load("pool_codes")
        spatial = load("spatial_codes")
    }

    /// A features file as `dimr-eval features` writes it.
    func write(to url: URL, rows: Range<Int>? = nil, index: Bool = false) throws {
        let r = rows ?? 0..<pool.shape[0]
        func slice(_ t: Tensor) -> NpyArray {
            let d = t.shape[1]
            return NpyArray(floats: Array(t.buffer[(r.lowerBound * d)..<(r.upperBound * d)]), shape: [r.count, d])
        }
        var arrays = [("pool", slice(pool)), ("spatial", slice(spatial))]
        if index { arrays.append(("index", NpyArray(int64: r.map { Int64($0) }, shape: [r.count]))) }
        try writeNpz(arrays, to: url)
    }
}

func moments(_ x: Tensor, rows: Range<Int>? = nil, chunk: Int = 97) -> FeatureMoments {
    let r = rows ?? 0..<x.shape[0], d = x.shape[1]
    let acc = MomentAccumulator(dimension: d, flushRows: 128)
    var i = r.lowerBound
    while i < r.upperBound {
        let n = min(chunk, r.upperBound - i)
        acc.add(x.data + i * d, rows: n)
        i += n
    }
    return acc.finish()
}

func assertRelative(_ value: Double, _ expected: Double, _ tolerance: Double, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    let err = abs(value - expected) / max(abs(expected), 1e-300)
    XCTAssert(err <= tolerance, "\(what): \(value) vs reference \(expected), relative error \(err) > \(tolerance)", file: file, line: line)
}

/// Asserts that `body` throws an error whose text contains every fragment.
func assertThrows<T>(_ body: @autoclosure () throws -> T, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments), got success", file: file, line: line)
    } catch {
        let text = "\(error)"
        for f in fragments where !text.contains(f) { XCTFail("error «\(text)» does not mention «\(f)»", file: file, line: line) }
    }
}
