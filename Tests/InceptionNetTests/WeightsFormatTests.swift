import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// The three weight formats give the same network.
final class WeightsFormatTests: XCTestCase {
    /// A pytorch-fid-format state dict (torchvision names, gamma = 1, seeded 1008×2048 fc) written
    /// from default_1.pt's own tensors — what `reference.py make-pth` writes — gives the same
    /// pool3 as the TorchScript path (exact up to float rounding of the BN fold: 1e-5).
    func testPytorchFIDStateDictMatchesTorchScript() throws {
        let tsURL = try realWeights()
        let raw = try TorchCheckpoint(contentsOf: tsURL).tensorDictionary()
        var stateDict: [(name: String, tensor: Tensor)] = []
        for layer in try inceptionLayerNames() {
            let p = "net.layers." + layer.torchScript
            let beta = try XCTUnwrap(raw[p + ".beta"])
            stateDict.append((layer.name + ".conv.weight", try XCTUnwrap(raw[p + ".weight"])))
            stateDict.append((layer.name + ".bn.weight", Tensor(shape: beta.shape, repeating: 1)))
            stateDict.append((layer.name + ".bn.bias", beta))
            stateDict.append((layer.name + ".bn.running_mean", try XCTUnwrap(raw[p + ".mean"])))
            stateDict.append((layer.name + ".bn.running_var", try XCTUnwrap(raw[p + ".var"])))
        }
        let fc = Tensor(uninitialized: [1008, 2048])
        var state: UInt64 = 42
        for i in 0..<fc.count { state = state &* 6364136223846793005 &+ 1442695040888963407; fc.data[i] = Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.05 }
        stateDict.append(("fc.weight", fc)); stateDict.append(("fc.bias", Tensor(zeros: [1008])))

        let dir = try temporaryDirectory(self)
        let pth = dir.appendingPathComponent("pt_inception-test.pth")
        try writeTorchStateDict(stateDict, to: pth)

        let fromPth = try InceptionWeights.load(pth)
        XCTAssertEqual(fromPth.format, .pytorchFID)
        XCTAssertEqual(try XCTUnwrap(fromPth.fcWeight).array, fc.array)

        let images = try firstImages("images_64.npz", count: 1)
        let input = try inceptionInput(images, mode: .adm)
        let a = try InceptionV3(weights: SharedNetwork.weights()).forward(input)
        let b = try InceptionV3(weights: fromPth).forward(input)
        let d = maxAbsDifference(a.pool.array, b.pool.array)
        print("pool3 TorchScript vs pytorch-fid state dict: max |Δ| = \(d)")
        XCTAssertLessThan(d, 1e-5)

        // and our safetensors export of the .pth weights keeps the fc head and the numbers
        let st = dir.appendingPathComponent("inception.safetensors")
        try fromPth.exportSafetensors(to: st)
        let fromST = try InceptionWeights.load(st)
        XCTAssertEqual(fromST.format, .safetensors)
        XCTAssertEqual(try XCTUnwrap(fromST.fcWeight).array, fc.array)
        let c = try InceptionV3(weights: fromST).forward(input)
        XCTAssertEqual(c.pool.array, b.pool.array)
        XCTAssertEqual(c.spatial.array, b.spatial.array)
    }

    /// A state dict missing a layer names the missing key.
    func testIncompleteStateDictNamesTheKey() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.pth")
        try writeTorchStateDict([("Conv2d_1a_3x3.conv.weight", Tensor(zeros: [32, 3, 3, 3]))], to: url)
        XCTAssertThrowsError(try InceptionWeights.load(url)) { error in
            XCTAssertTrue("\(error)".contains("Conv2d_1a_3x3.bn.weight"), "\(error)")
        }
    }

    func testMissingExplicitWeightsIsAnError() {
        XCTAssertThrowsError(try WeightsLocator.locate(explicit: URL(fileURLWithPath: "/nonexistent/w.pt"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/w.pt"), "\(error)")
        }
    }

    func testSHA1() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("abc")
        try Data("abc".utf8).write(to: url)
        XCTAssertEqual(try sha1Hex(of: url), "a9993e364706816aba3e25717850c26c9cd0d89d")   // FIPS 180 example
        try Data(repeating: 0x61, count: 1_000_000).write(to: url)
        XCTAssertEqual(try sha1Hex(of: url), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")   // a × 10^6
    }
}

func firstImages(_ fixture: String, count: Int) throws -> [RGBImage] {
    var images: [RGBImage] = []
    try openImageSource(inceptionFixture(fixture)).forEachBatch(size: count) { start, batch in
        if start == 0 { images = batch }
    }
    return Array(images.prefix(count))
}

func inceptionLayerNames() throws -> [(name: String, torchScript: String)] {
    InceptionWeights.layerNames
}
