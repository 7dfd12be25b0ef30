import CPNG
import Foundation

/// Decodes a PNG with libpng's simplified `png_image` API. Gray, palette and 16-bit images are
/// converted to 8-bit RGB; an alpha channel is dropped (not composited), as PIL's
/// `convert("RGB")` does. Note: libpng applies a file's gAMA/cHRM to reach sRGB where PIL does
/// not, so pixels of PNGs with unusual gamma chunks can differ from PIL's.
public func decodePNG(_ data: [UInt8], file: String = "<memory>") throws -> RGBImage {
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
    guard begun != 0 else { throw pngError(&image, file: file, stage: "PNG header") }
    defer { png_image_free(&image) }
    // Read RGBA (alpha is not premultiplied for 8-bit output) and drop alpha ourselves, so that
    // transparent pixels keep their colour instead of being composited onto a background.
    image.format = png_uint_32(PNG_FORMAT_RGB | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA does not import
    let width = Int(image.width), height = Int(image.height)
    guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16 else {
        throw FormatError(file: file, field: "PNG size", expected: "1...65536 pixels a side", found: "\(width)x\(height)")
    }
    var rgba = [UInt8](repeating: 0, count: width * height * 4)  // PNG_IMAGE_SIZE does not import
    let finished = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard finished != 0 else { throw pngError(&image, file: file, stage: "PNG data") }
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    rgba.withUnsafeBufferPointer { src in
        rgb.withUnsafeMutableBufferPointer { dst in
            for i in 0..<(width * height) {
                dst[3 * i] = src[4 * i]; dst[3 * i + 1] = src[4 * i + 1]; dst[3 * i + 2] = src[4 * i + 2]
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: rgb)
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
