import CPNG
import Foundation

/// The largest image the JPEG and PNG decoders accept, in pixels (16384 × 16384): a header
/// claiming more is refused before any pixel memory is allocated.
public let maximumDecodedPixels = 1 << 28

/// Decodes a PNG through libpng's classic API (`CPNG/cpng_shim.c`) as PIL's `convert("RGB")`
/// does: palette looked up, gray repeated into RGB, alpha dropped without compositing, no gamma
/// or colour-space conversion (gAMA, sRGB, iCCP are ignored, as PIL ignores them). 16-bit
/// samples v map to round(v / 257), the nearest 8-bit value (what `np.round(a / 257)` gives;
/// PIL itself truncates 16-bit RGB to the high byte). Interlaced files decode. A damaged chunk
/// (CRC mismatch) or a cut inside the image data throws.
public func decodePNG(_ data: [UInt8], file: String = "<memory>", maxPixels: Int = maximumDecodedPixels) throws -> RGBImage {
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    guard data.starts(with: signature) else {
        throw FormatError(file: file, field: "PNG header", expected: "the PNG signature 89 50 4E 47 0D 0A 1A 0A",
                          found: describeBytes(data.prefix(8)) + (data.isEmpty ? "" : " (\(data.count) bytes)"))
    }
    return try decodeThroughShim(data, file: file, format: "PNG", messageSize: CPNG_MESSAGE_SIZE, {
        cpng_decode_rgb($0, $1, max(0, maxPixels), $2, $3, $4, $5)
    }, free: { cpng_free($0) })
}

/// Encodes 8-bit RGB as PNG (lossless).
public func encodePNG(_ image: RGBImage) throws -> [UInt8] {
    var png = png_image()
    png.version = png_uint_32(PNG_IMAGE_VERSION)
    png.width = png_uint_32(image.width)
    png.height = png_uint_32(image.height)
    png.format = png_uint_32(PNG_FORMAT_RGB)
    var size: png_alloc_size_t = 0
    // First call sizes the output, second writes it.
    let sized = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) }
    guard sized != 0 || size > 0 else { throw pngError(&png, file: "<memory>", stage: "PNG encode") }
    var out = [UInt8](repeating: 0, count: Int(size))
    let written = out.withUnsafeMutableBytes { dst in
        image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
    }
    guard written != 0 else { throw pngError(&png, file: "<memory>", stage: "PNG encode") }
    return Array(out.prefix(Int(size)))
}

private func pngError(_ image: inout png_image, file: String, stage: String) -> FormatError {
    let message = withUnsafeBytes(of: &image.message) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
    png_image_free(&image)
    return FormatError(file: file, field: stage, expected: "a decodable PNG", found: message.isEmpty ? "libpng error" : message)
}
