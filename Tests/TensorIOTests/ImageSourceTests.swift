import Foundation
import TensorIO
import TestSupport
import XCTest

/// Image folders (recursive, sorted, mixed sizes), ADM .npz and .npy sources, streamed in batches.
final class ImageSourceTests: XCTestCase {
    func testFolderIsRecursiveSortedAndSkipsOtherFiles() throws {
        let expected = try fixtureJSON("folder/expected.json")
        let source = try openImageSource(fixture("folder"))
        let folder = try XCTUnwrap(source as? ImageFolderSource)
        let root = fixture("folder").standardizedFileURL.path + "/"
        XCTAssertEqual(folder.files.map { String($0.standardizedFileURL.path.dropFirst(root.count)) }, expected["order"] as! [String])
        XCTAssertNil(source.labels)
        var images: [RGBImage] = []
        var starts: [Int] = []
        try source.forEachBatch(size: 3) { start, batch in starts.append(start); images += batch }
        XCTAssertEqual(starts, [0, 3])
        let sizes = expected["sizes"] as! [[Int]]
        let pixels = expected["pixels"] as! [[Int]]
        XCTAssertEqual(images.map { [$0.width, $0.height] }, sizes, "mixed sizes kept")
        for (i, image) in images.enumerated() {
            XCTAssertEqual(image.pixels, pixels[i].map { UInt8($0) }, "image \(i) matches PIL")  // exact, see ImageCodecTests
        }
    }

    func testEmptyOrMissingFoldersAreErrors() throws {
        let dir = try temporaryDirectory(self)
        assertFormatError(try openImageSource(dir), ["images", "at least one .jpg", "found none"])
        try Data("x".utf8).write(to: dir.appendingPathComponent("readme.txt"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        assertFormatError(try openImageSource(dir), ["found none"])
        assertFormatError(try openImageSource(dir.appendingPathComponent("nope")), ["no such file or folder"])
        assertFormatError(try openImageSource(dir.appendingPathComponent("readme.txt")), ["extension '.txt'"])
    }

    func testBrokenImageInFolderNamesTheFile() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.copyItem(at: fixture("images/rgb.png"), to: dir.appendingPathComponent("a.png"))
        try FileManager.default.copyItem(at: fixture("bad/not_a_jpeg.jpg"), to: dir.appendingPathComponent("b.jpg"))
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("c.png"), withDestinationURL: fixture("images/gray.png"))
        let source = try openImageSource(dir)
        XCTAssertEqual(source.count, 3, "a symlinked image counts")
        assertFormatError(try source.forEachBatch(size: 8) { _, _ in }, ["b.jpg", "image signature"])
    }

    func testADMNpzAndNpySourcesStreamTheSameImages() throws {
        let values = try fixtureJSON("npz/values.json")
        let all = (values["images"] as! [Int]).map { UInt8($0) }
        for path in ["npz/adm_stored.npz", "npz/adm_deflated.npz", "npz/adm_images.npy"] {
            let source = try openImageSource(fixture(path))
            XCTAssertEqual(source.count, 5, path)
            XCTAssertEqual(source.labels, path.hasSuffix(".npy") ? nil : [3, 1, 4, 1, 5], path)
            var pixels: [UInt8] = []
            var batches: [Int] = []
            try source.forEachBatch(size: 2) { start, images in
                XCTAssertEqual(start, pixels.count / (6 * 4 * 3))
                batches.append(images.count)
                for image in images {
                    XCTAssertEqual([image.width, image.height], [4, 6])
                    pixels += image.pixels
                }
            }
            XCTAssertEqual(batches, [2, 2, 1], path)
            XCTAssertEqual(pixels, all, path)
        }
    }

    func testWrongArraysAreRefusedWithTheReason() {
        assertFormatError(try openImageSource(fixture("bad/float_images.npz")), ["float_images.npz", "arr_0 dtype", "uint8", "float32"])
        assertFormatError(try openImageSource(fixture("bad/nchw_images.npz")), ["arr_0 shape", "(N, H, W, 3)", "[5, 3, 6, 4]", "channels first"])
        assertFormatError(try openImageSource(fixture("bad/label_count.npz")), ["arr_1 (labels)", "5 integer labels", "[3]"])
        assertFormatError(try openImageSource(fixture("npz/named.npz")), ["arr_0", "mu"])
        assertFormatError(try openImageSource(fixture("npy/f4.npy")), ["array dtype", "uint8"])
        assertFormatError(try openImageSource(fixture("bad/truncated.npz")), ["truncated.npz", "zip container"])
    }
}
