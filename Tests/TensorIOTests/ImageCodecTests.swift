import Foundation
import TensorIO
import XCTest

/// JPEG/PNG decoding compared with PIL's pixels for the same files (fixtures/io/images/*.npy,
/// from `Image.open(f).convert("RGB")`); encoders round-trip; damaged files throw.
final class ImageCodecTests: XCTestCase {
    func pilPixels(_ name: String) throws -> NpyArray { try readNpy(fixture("images/\(name).npy")) }

    /// Largest per-channel difference between our decode and PIL's.
    func maxDifference(_ image: RGBImage, _ reference: NpyArray) throws -> Int {
        XCTAssertEqual(reference.shape, [image.height, image.width, 3])
        let ref = try reference.asUInt8()
        guard ref.count == image.pixels.count else { return 255 }
        return zip(image.pixels, ref).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testJPEGMatchesPIL() throws {
        // Both decoders are libjpeg-turbo with the accurate integer IDCT and fancy upsampling, so
        // pixels agree exactly; tolerance 0. (CMYK goes through PIL's rounding formula, also exact.)
        for name in ["rgb_q90.jpg", "rgb_q75_444.jpg", "gray.jpg", "cmyk.jpg", "progressive.jpg"] {
            let image = try readImage(fixture("images/" + name))
            XCTAssertEqual(image.width, 34, name)
            XCTAssertEqual(image.height, 21, name)
            XCTAssertEqual(try maxDifference(image, pilPixels(name)), 0, name)
        }
    }

    func testPNGMatchesPIL() throws {
        // Gray, palette and gray+alpha expand to RGB; alpha is dropped without compositing (PIL's convert("RGB")).
        for name in ["rgb.png", "rgba.png", "gray.png", "palette.png", "gray_alpha.png"] {
            let image = try readImage(fixture("images/" + name))
            XCTAssertEqual(try maxDifference(image, pilPixels(name)), 0, name)
        }
    }

    func testEncodersRoundTrip() throws {
        var pixels = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for y in 0..<30 { for x in 0..<40 { for c in 0..<3 { pixels[(y * 40 + x) * 3 + c] = UInt8([x * 6, y * 8, 100 + x + y][c]) } } }
        let image = RGBImage(width: 40, height: 30, pixels: pixels)
        XCTAssertEqual(try decodePNG(encodePNG(image)), image, "PNG is lossless")
        let jpeg = try encodeJPEG(image, quality: 95)
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF])
        let back = try decodeJPEG(jpeg)
        XCTAssertEqual([back.width, back.height], [40, 30])
        let meanError = Double(zip(back.pixels, pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(pixels.count)
        XCTAssertLessThan(meanError, 1.5, "quality 95 keeps a smooth gradient within 1.5 levels on average")
        XCTAssertGreaterThan(try encodeJPEG(image, quality: 95).count, try encodeJPEG(image, quality: 20).count)
    }

    func testDamagedFilesThrow() throws {
        func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixture(path))) }
        assertFormatError(try readImage(fixture("bad/not_a_jpeg.jpg")), ["not_a_jpeg.jpg", "image signature", "JPEG (FF D8 FF)", "47 49 46 38"])
        assertFormatError(try readImage(fixture("bad/truncated.jpg")), ["truncated.jpg", "JPEG data", "Premature end"])
        assertFormatError(try readImage(fixture("bad/corrupt_header.jpg")), ["corrupt_header.jpg", "JPEG data"])
        assertFormatError(try readImage(fixture("bad/truncated.png")), ["truncated.png", "PNG"])
        assertFormatError(try decodeJPEG(bytes("bad/not_a_jpeg.jpg")), ["JPEG data", "Not a JPEG file"])
        assertFormatError(try decodeJPEG([]), ["JPEG data", "empty"])
        assertFormatError(try decodePNG([0x89, 0x50, 0x4E, 0x47]), ["PNG header"])
        assertFormatError(try decodeImage([]), ["image signature", "an empty file"])
        // Every prefix of a JPEG fails cleanly or decodes (a cut inside trailing padding may still be whole).
        let jpeg = try bytes("images/rgb_q90.jpg")
        for cut in stride(from: 0, to: jpeg.count - 2, by: 37) {
            XCTAssertThrowsError(try decodeJPEG(Array(jpeg.prefix(cut))), "cut at \(cut)")
        }
    }
}
