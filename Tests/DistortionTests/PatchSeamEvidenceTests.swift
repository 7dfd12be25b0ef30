import Distortion
import Foundation
import TensorCore
import TensorIO
import XCTest

/// The heatmap's evidence (issue #15, item 4): it finds the grid a seam was drawn on and the cell
/// it was drawn in, and stays near 1 on a smooth clean image.
final class PatchSeamEvidenceTests: XCTestCase {
    /// A smooth image with one 8×8 cell (row 1, column 2) raised by 40 luma levels: its borders are
    /// steps, the rest is smooth. That cell (or the neighbours sharing its borders, whose right /
    /// bottom border is the step) carries the largest ratios; far cells stay ≈ 1.
    func testFindsTheCellWithASeam() {
        var image = smoothImage(width: 32, height: 32, seed: 4)
        for y in 8..<16 { for x in 16..<24 { for c in 0..<3 {
            let i = (y * 32 + x) * 3 + c
            image.pixels[i] = UInt8(clampingPixel: Float(image.pixels[i]) + 40)
        } } }
        let evidence = PatchSeamEvidence(image, patchSize: 8)
        XCTAssertEqual(evidence.rows, 4); XCTAssertEqual(evidence.columns, 4)
        let best = evidence.ratios.indices.max { evidence.ratios[$0] < evidence.ratios[$1] }!
        // Cell (1, 2)'s right and bottom borders, and the left neighbour (1, 1)'s right border / the one above (0, 2)'s bottom.
        XCTAssertTrue([1 * 4 + 2, 1 * 4 + 1, 0 * 4 + 2].contains(best), "largest evidence in cell \(best): \(evidence.ratios)")
        XCTAssertGreaterThan(evidence.ratios[best], 3)
        XCTAssertLessThan(evidence.ratios[3 * 4 + 0], 1.5, "a cell far from the step")
        let clean = PatchSeamEvidence(smoothImage(width: 32, height: 32, seed: 4), patchSize: 8)
        XCTAssertLessThan(clean.ratios.max()!, 1.6, "smooth clean image: \(clean.ratios)")
    }

    /// On a synthetic patch-grid distortion the grid size is found from the spectrum and the mean
    /// evidence rises well above the clean image's.
    func testPatchGridDistortionRaisesTheEvidence() {
        let clean = smoothImage(width: 32, height: 32, seed: 7)
        var seamed = clean
        for y in 0..<32 { for x in 0..<32 where x % 4 == 0 || y % 4 == 0 { for c in 0..<3 {
            let i = (y * 32 + x) * 3 + c
            seamed.pixels[i] = UInt8(clampingPixel: Float(seamed.pixels[i]) - 35)
        } } }
        let evidence = PatchSeamEvidence(seamed)
        XCTAssertEqual(evidence.patchSize, 4)
        let mean = { (e: PatchSeamEvidence) in e.ratios.reduce(0, +) / Float(e.ratios.count) }
        XCTAssertGreaterThan(mean(evidence), 2 * mean(PatchSeamEvidence(clean, patchSize: 4)))
        // The overlay: the sample at 8× beside its tinted copy; the left half is the image itself.
        let picture = evidence.overlay(on: seamed)
        XCTAssertEqual(picture.width, 2 * 256 + 4); XCTAssertEqual(picture.height, 256)
        XCTAssertEqual(Array(picture.pixels[0..<3]), Array(seamed.pixels[0..<3]))
    }
}
