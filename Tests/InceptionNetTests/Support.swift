import Foundation
import InceptionNet
import TensorCore
import TensorIO
import XCTest

/// fixtures/inception/ (made by scripts/fixtures/inception_make_fixtures.py; see COMMANDS.md there).
func inceptionFixture(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/inception").appendingPathComponent(name)
}

/// The real TorchScript weights (scripts/setup.sh installs them; CI runs it before the tests).
func realWeights() throws -> URL {
    guard let located = try? WeightsLocator.locate(), located.url.lastPathComponent == "default_1.pt" else {
        throw XCTSkip("default_1.pt not installed: run scripts/setup.sh (searched \(WeightsLocator.candidates().map(\.path)))")
    }
    return located.url
}

/// The TorchScript-loaded network, shared by the tests in one run (loading reads 87 MB).
enum SharedNetwork {
    nonisolated(unsafe) static var cached: (URL, InceptionWeights)?
    static func weights() throws -> InceptionWeights {
        let url = try realWeights()
        if let c = cached, c.0 == url { return c.1 }
        let w = try InceptionWeights.load(url)
        cached = (url, w)
        return w
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}
