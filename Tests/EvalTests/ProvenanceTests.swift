import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// Preprocessing provenance (Sources/Eval/Inputs/Preprocessing.swift) and the statistics layouts.
final class ProvenanceTests: XCTestCase {
    let adm = Preprocessing(resize: .adm, weights: "/w/default_1.pt", weightsFormat: "torchscript", weightsSHA1: "aaa")
    let pytorch = Preprocessing(resize: .pytorch, weights: "/w/default_1.pt", weightsFormat: "torchscript", weightsSHA1: "aaa")

    func testKnownDifferentModesAreRefused() {
        assertThrows(try checkPreprocessing(SideOrigin(name: "stats.npz", preprocessing: pytorch, readNow: false),
                                            SideOrigin(name: "images", preprocessing: adm, readNow: true)),
                     ["stats.npz was made with --resize pytorch", "images is read now with --resize adm", "pass --resize pytorch"])
        XCTAssertEqual(try checkPreprocessing(SideOrigin(name: "a", preprocessing: adm, readNow: false),
                                              SideOrigin(name: "b", preprocessing: adm, readNow: true)), [])
    }

    func testForeignFilesGetANoteSayingHowToMatch() throws {
        let notes = try checkPreprocessing(SideOrigin(name: "fid_stats.npz", preprocessing: nil, readNow: false, foreignHint: "a hint"),
                                           SideOrigin(name: "folder", preprocessing: pytorch, readNow: true))
        XCTAssertEqual(notes.count, 1)
        for fragment in ["fid_stats.npz records no preprocessing", "a hint", "folder is read now with --resize pytorch",
                         "pytorch-fid → --resize pytorch", "clean-fid (mode \"clean\") → --resize clean", "--resize adm (the default)"] {
            XCTAssertTrue(notes[0].contains(fragment), "«\(notes[0])» lacks «\(fragment)»")
        }
        var other = adm; other.weightsSHA1 = "bbb"
        XCTAssertTrue(try checkPreprocessing(SideOrigin(name: "a", preprocessing: adm, readNow: false),
                                             SideOrigin(name: "b", preprocessing: other, readNow: false))[0].contains("different weights files"))
    }

    /// ADM layout: mu, sigma, mu_s, sigma_s + count, sums and meta (the preprocessing, read back);
    /// pytorch-fid layout: mu and sigma only. Foreign files are told apart by their layout.
    func testStatisticsLayoutsAndMeta() throws {
        let dir = try temporaryDirectory(self)
        var file = try StatisticsFile(pool: moments(FixtureFeatures.samples.pool), spatial: moments(FixtureFeatures.samples.spatial))
        file.preprocessing = pytorch
        let admURL = dir.appendingPathComponent("adm.npz"), ptURL = dir.appendingPathComponent("pt.npz")
        try file.write(to: admURL)
        try file.write(to: ptURL, layout: .pytorchFID)
        XCTAssertEqual(Set(try NpzFile(contentsOf: admURL).names), ["mu", "sigma", "mu_s", "sigma_s", "count", "sum", "sum_s", "meta"])
        XCTAssertEqual(Set(try NpzFile(contentsOf: ptURL).names), ["mu", "sigma"])
        XCTAssertEqual(try StatisticsFile.read(admURL).preprocessing, pytorch)
        XCTAssertNil(try StatisticsFile.read(ptURL).preprocessing)
        XCTAssertEqual(try StatisticsFile.read(ptURL).pool.mean, file.pool.mean)
        XCTAssertEqual(try EvalInput(admURL).recorded, pytorch)

        let provider = ExtractorProvider(progress: false)
        XCTAssertEqual(try EvalInput(admURL).statisticsOrigin(provider).preprocessing?.resize, "pytorch")
        XCTAssertNil(try EvalInput(ptURL).statisticsOrigin(provider).foreignHint, "float64 mu: no guess")
        let torchLike = dir.appendingPathComponent("torch_like.npz")
        try writeNpz([("mu", NpyArray(floats: file.pool.mean.map(Float.init), shape: [2048])),
                      ("sigma", NpyArray(doubles: file.pool.covariance, shape: [2048, 2048]))], to: torchLike)
        XCTAssertTrue(try EvalInput(torchLike).statisticsOrigin(provider).foreignHint?.contains("pytorch-fid") == true)
        let admLike = dir.appendingPathComponent("adm_like.npz")
        try writeNpz([("mu", NpyArray(doubles: file.pool.mean, shape: [2048])), ("sigma", NpyArray(doubles: file.pool.covariance, shape: [2048, 2048])),
                      ("mu_s", NpyArray(doubles: file.pool.mean, shape: [2048])), ("sigma_s", NpyArray(doubles: file.pool.covariance, shape: [2048, 2048]))],
                     to: admLike)
        XCTAssertTrue(try EvalInput(admLike).statisticsOrigin(provider).foreignHint?.contains("ADM evaluator") == true)
    }

    /// Merging statistics keeps a preprocessing all parts share and refuses parts of different modes.
    func testMergeCarriesAndChecksPreprocessing() throws {
        let dir = try temporaryDirectory(self)
        func part(_ name: String, _ rows: Range<Int>, _ p: Preprocessing) throws -> URL {
            var file = try StatisticsFile(pool: moments(FixtureFeatures.samples.pool, rows: rows), spatial: nil)
            file.preprocessing = p
            let url = dir.appendingPathComponent(name)
            try file.write(to: url)
            return url
        }
        let a = try part("a.npz", 0..<200, adm), b = try part("b.npz", 200..<400, adm), c = try part("c.npz", 200..<400, pytorch)
        let merged = dir.appendingPathComponent("m.npz")
        _ = try ShardMerge.merge([a, b], to: merged)
        XCTAssertEqual(try StatisticsFile.read(merged).preprocessing, adm)
        assertThrows(try ShardMerge.merge([a, c], to: merged), ["meta.resize", "adm as in a.npz", "pytorch"])
    }
}
