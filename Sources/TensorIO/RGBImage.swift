import Foundation

/// An 8-bit RGB image, rows top to bottom, pixels interleaved: pixels[(y * width + x) * 3 + c].
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// HWC, 3 channels, `width * height * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "a \(width)x\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Decodes JPEG or PNG by content (as PIL does, whatever the file's extension says).
/// `file` names the source in errors.
public func decodeImage(_ data: [UInt8], file: String = "<memory>") throws -> RGBImage {
    if data.starts(with: [0xFF, 0xD8, 0xFF]) { return try decodeJPEG(data, file: file) }
    if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decodePNG(data, file: file) }
    throw FormatError(file: file, field: "image signature",
                      expected: "JPEG (FF D8 FF) or PNG (89 50 4E 47 0D 0A 1A 0A) data",
                      found: describeBytes(data.prefix(8)) + (data.isEmpty ? "" : " (\(data.count) bytes)"))
}

/// Reads and decodes an image file (JPEG or PNG, by content).
public func readImage(_ url: URL) throws -> RGBImage {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw FormatError(url, field: "file", expected: "a readable image file", found: error.localizedDescription)
    }
    return try decodeImage([UInt8](data), file: url.path)
}

/// Runs one of the C decoding shims (`cjpeg_decode_rgb`, `cpng_decode_rgb`: bytes in; a malloc'd
/// RGB buffer, its size and a message out) and turns its result into an image or a FormatError
/// naming `file` and "<format> data".
func decodeThroughShim(_ data: [UInt8], file: String, format: String, messageSize: Int32,
                       _ decode: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
                                  UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<CChar>) -> Int32,
                       free: (UnsafeMutablePointer<UInt8>) -> Void) throws -> RGBImage {
    var pixels: UnsafeMutablePointer<UInt8>?
    var width: Int32 = 0, height: Int32 = 0
    var message = [CChar](repeating: 0, count: Int(messageSize))
    let status = data.withUnsafeBufferPointer { buffer in decode(buffer.baseAddress, buffer.count, &pixels, &width, &height, &message) }
    guard status == 0, let pixels else {
        throw FormatError(file: file, field: "\(format) data", expected: "a decodable \(format)",
                          found: String(cString: message) + " (\(data.count) bytes)")
    }
    defer { free(pixels) }
    let count = Int(width) * Int(height) * 3
    return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
}
