import Foundation
import InceptionNet
import TensorCore
import TensorIO
import XCTest

/// Features against the TorchScript network run by PyTorch (reference.py features, ADM
/// preprocessing with torch-fidelity's TF-1 bilinear): within 1e-3 absolute, every size.
final class InceptionFeatureTests: XCTestCase {
    func testFeaturesMatchTorchScriptAtEverySize() throws {
        let network = try InceptionV3(weights: SharedNetwork.weights())
        for size in ["32", "64", "256", "48x80", "299"] {
            let source = try openImageSource(inceptionFixture("images_\(size).npz"))
            let reference = try NpzFile(contentsOf: inceptionFixture("features_\(size).npz"))
            var images: [RGBImage] = []
            try source.forEachBatch(size: 16) { _, batch in images += batch }
            let out = network.forward(try inceptionInput(images, mode: .adm))
            let pool = try reference.array("pool").asFloats(), spatial = try reference.array("spatial").asFloats()
            XCTAssertEqual(out.pool.shape, [images.count, 2048])
            XCTAssertEqual(out.spatial.shape, [images.count, 2023])
            let dp = maxAbsDifference(out.pool.array, pool), ds = maxAbsDifference(out.spatial.array, spatial)
            print("size \(size): max |Δpool3| = \(dp), max |Δspatial| = \(ds)")
            XCTAssertLessThan(dp, 1e-3, "pool3 at \(size)")
            XCTAssertLessThan(ds, 1e-3, "spatial at \(size)")
        }
    }

    /// The public streaming API gives the same numbers, in source order, with batch starts.
    func testFeatureExtractorStreamsInOrder() throws {
        let extractor = try FeatureExtractor(weights: try realWeights(), resize: .adm, batchSize: 2)
        let source = try openImageSource(inceptionFixture("images_32.npz"))
        let reference = try NpzFile(contentsOf: inceptionFixture("features_32.npz"))
        var starts: [Int] = [], pool: [Float] = []
        try extractor.extract(source, progress: false) { batch in
            starts.append(batch.start)
            XCTAssertEqual(batch.pool.count, batch.count * 2048)
            XCTAssertEqual(batch.spatial.count, batch.count * 2023)
            pool += batch.pool
        }
        XCTAssertEqual(starts, [0, 2])
        XCTAssertLessThan(maxAbsDifference(pool, try reference.array("pool").asFloats()), 1e-3)
        XCTAssertNil(extractor.fcWeight, "default_1.pt has no 1008-way head")
    }
}
