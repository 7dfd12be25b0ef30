import Distortion
import Foundation
import TensorCore
import TensorIO
import XCTest

final class SyntheticDistortionTests: XCTestCase {
    /// Same seed → byte-identical output; another seed → a different output; every kind changes
    /// the image and keeps its size.
    func testDeterministicWithSeed() throws {
        let image = try photos("a")[0]
        for kind in DistortionKind.allCases {
            var a = SplitMix64(seed: 42, stream: "k", index: 3), b = SplitMix64(seed: 42, stream: "k", index: 3)
            let first = distort(image, kind: kind, rng: &a), second = distort(image, kind: kind, rng: &b)
            XCTAssertEqual(first, second, "\(kind) is not deterministic")
            XCTAssertEqual(first.width, image.width)
            XCTAssertEqual(first.height, image.height)
            XCTAssertNotEqual(first, image, "\(kind) left the image unchanged")
            let outputs = Set((0..<6).map { seed -> [UInt8] in
                var rng = SplitMix64(seed: UInt64(seed), stream: "k", index: 3)
                return distort(image, kind: kind, rng: &rng).pixels
            })
            XCTAssertGreaterThan(outputs.count, 1, "\(kind) ignores the seed")
        }
    }

    /// The generator's stream is fixed: these are the first outputs of SplitMix64 seeded with 0
    /// (Steele et al.'s reference values, as in Java's SplittableRandom).
    func testGeneratorReferenceValues() {
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xe220_a839_7b1d_cdaf)
        XCTAssertEqual(rng.next(), 0x6e78_9e6a_a1b9_65f4)
    }

    func testTrainingAndHeldOutKindsAreDisjoint() {
        XCTAssertTrue(Set(DistortionKind.training).isDisjoint(with: DistortionKind.heldOut))
        XCTAssertEqual(Set(DistortionKind.training + DistortionKind.heldOut), Set(DistortionKind.allCases))
    }

    /// patchGrid at patch size p only touches rows/columns on the grid.
    func testPatchGridTouchesOnlyGridLines() {
        let image = smoothImage(width: 64, height: 64, seed: 1)
        for seed in 0..<8 {
            var rng = SplitMix64(seed: UInt64(seed))
            let out = distort(image, kind: .patchGrid, rng: &rng)
            var changed: [(x: Int, y: Int)] = []
            for y in 0..<64 {
                for x in 0..<64 where out.pixels[(y * 64 + x) * 3] != image.pixels[(y * 64 + x) * 3] { changed.append((x, y)) }
            }
            // every changed pixel lies on a multiple of one p in {2, 4, 8, 16} along x or y
            let p = [2, 4, 8, 16].first { p in changed.allSatisfy { $0.x % p == 0 || $0.y % p == 0 } }
            XCTAssertNotNil(p, "seed \(seed): changes off any patch grid")
        }
    }

    func testResizeAndGrid() {
        let image = smoothImage(width: 64, height: 48, seed: 2)
        let half = image.resized(width: 32, height: 24)
        // box average of exact 2×2 blocks
        let manual = (0..<4).map { k in Float(image.pixels[((k / 2) * 64 + k % 2) * 3]) }.reduce(0, +) / 4
        XCTAssertEqual(Float(half.pixels[0]), manual.rounded(), accuracy: 0.5)
        XCTAssertEqual(image.resized(width: 50, height: 30).width, 50)
        let grid = makeImageGrid([image, half, image], columns: 2, gap: 2)
        XCTAssertEqual(grid.width, 2 * 64 + 3 * 2)
        XCTAssertEqual(grid.height, 2 * 48 + 3 * 2)
    }
}
