import Distortion
import Foundation
import TensorIO
import XCTest

final class PatchGridSpectrumTests: XCTestCase {
    func feature(_ f: [Float], _ name: String) -> Float { f[PatchGridSpectrum.featureNames.firstIndex(of: name)!] }

    /// A synthetic 8-px grid (seams of +20 on every 8th column and row) on a smooth 64×64 image:
    /// the energy at kx = k·64/8 stands far out of its neighbours (strongest harmonic log ratio
    /// > 2, i.e. > 7×, and 1.5 above the clean image; the mean over harmonics is lower because a seam makes |∂x| a pair of
    /// columns, whose spectrum dips near k = 4), while the clean image stays below 1.2 (max) and 0.5 (mean).
    /// Half of the p = 16 harmonics are 8-px harmonics, so its mean is lower than p = 8's.
    func testFindsAnEightPixelGrid() {
        let spectrum = PatchGridSpectrum()
        for seed in 0..<4 {
            let clean = smoothImage(width: 64, height: 64, seed: UInt64(seed))
            var grid = clean
            for y in 0..<64 {
                for x in 0..<64 where x % 8 == 0 || y % 8 == 0 {
                    for c in 0..<3 { grid.pixels[(y * 64 + x) * 3 + c] = UInt8(clampingPixel: Float(grid.pixels[(y * 64 + x) * 3 + c]) + 20) }
                }
            }
            let f0 = spectrum.features(clean), f1 = spectrum.features(grid)
            for axis in ["x", "y"] {
                let tag = "seed \(seed) axis \(axis): clean \(feature(f0, "grid8_\(axis)_max")) / \(feature(f0, "grid8_\(axis)_mean")), grid \(feature(f1, "grid8_\(axis)_max")) / \(feature(f1, "grid8_\(axis)_mean"))"
                XCTAssertGreaterThan(feature(f1, "grid8_\(axis)_max"), 2.0, tag)
                XCTAssertGreaterThan(feature(f1, "grid8_\(axis)_mean"), 1.0, tag)
                XCTAssertLessThan(feature(f0, "grid8_\(axis)_max"), 1.2, tag)
                XCTAssertLessThan(abs(feature(f0, "grid8_\(axis)_mean")), 0.5, tag)
                XCTAssertGreaterThan(feature(f1, "grid8_\(axis)_max"), feature(f0, "grid8_\(axis)_max") + 1.5, tag)
                XCTAssertLessThan(feature(f1, "grid16_\(axis)_mean"), feature(f1, "grid8_\(axis)_mean"), tag)
            }
        }
    }

    /// Vertical seams only: the x features fire, the y features do not.
    func testSeparatesAxes() {
        let clean = smoothImage(width: 64, height: 64, seed: 7)
        var seams = clean
        for y in 0..<64 {
            for x in stride(from: 0, to: 64, by: 4) {
                for c in 0..<3 { seams.pixels[(y * 64 + x) * 3 + c] = UInt8(clampingPixel: Float(clean.pixels[(y * 64 + x) * 3 + c]) - 25) }
            }
        }
        let f = PatchGridSpectrum().features(seams)
        XCTAssertGreaterThan(feature(f, "grid4_x_max"), 2)
        XCTAssertLessThan(feature(f, "grid4_y_max"), 1.2)
    }

    /// A patch size that does not fit four times gives 0 (not NaN), and odd sizes work.
    func testSmallAndOddImages() {
        let f = PatchGridSpectrum().features(smoothImage(width: 33, height: 20, seed: 3))
        XCTAssertTrue(f.allSatisfy { $0.isFinite })
        XCTAssertEqual(feature(f, "grid16_x_mean"), 0)
        XCTAssertEqual(f.count, PatchGridSpectrum.featureNames.count)
    }
}
