import Distortion
import Foundation
import TensorCore
import TensorIO
import TestSupport
import XCTest

/// fixtures/distortion (see fixtures/distortion/COMMANDS.md for how they were made).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/distortion")

/// Real photographs, 32×32: set a (240 crops) trains, set b (120 crops of other photos) is unseen.
func photos(_ set: String) throws -> [RGBImage] {
    try LoadedImages(openImageSource(fixtures.appendingPathComponent("photos32_\(set).npz"))).images
}

/// A smooth, textured test image (sums of random sinusoids, no periodic seams), values 40...215.
func smoothImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var rng = SplitMix64(seed: seed, stream: "smooth", index: 0)
    let waves = (0..<6).map { _ in (fx: rng.uniform(0.01, 0.09), fy: rng.uniform(0.01, 0.09), phase: rng.uniform(0, 6.28),
                                    colour: [rng.uniform(0.5, 1), rng.uniform(0.5, 1), rng.uniform(0.5, 1)]) }
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<3 {
                var v = 0.0
                for w in waves { v += w.colour[c] * sin(2 * Double.pi * (w.fx * Double(x) + w.fy * Double(y)) + w.phase) }
                image.pixels[(y * width + x) * 3 + c] = UInt8(clampingPixel: Float(128 + 14 * v + rng.uniform(-3, 3)))
            }
        }
    }
    return image
}

/// Writes `images` as an ADM batch in a fresh temporary folder, removed after `test`.
func writeBatch(_ images: [RGBImage], name: String, for test: XCTestCase) throws -> URL {
    let url = try temporaryDirectory(test).appendingPathComponent(name + ".npz")
    let w = images[0].width, h = images[0].height
    try writeNpz([("arr_0", NpyArray(uint8: images.flatMap(\.pixels), shape: [images.count, h, w, 3]))], to: url)
    return url
}
