import CJPEG
import Foundation

/// Decodes a JPEG with libjpeg-turbo's default (accurate integer) IDCT and fancy upsampling —
/// the settings PIL uses, so pixels match PIL's for the same libjpeg-turbo. Grayscale and CMYK
/// files come out as RGB. A truncated or corrupt file throws. EXIF orientation is not applied
/// (pixels in stored order, as PIL's `Image.open` and so every reference FID tool reads them).
public func decodeJPEG(_ data: [UInt8], file: String = "<memory>", maxPixels: Int = maximumDecodedPixels) throws -> RGBImage {
    try decodeThroughShim(data, file: file, format: "JPEG", messageSize: CJPEG_MESSAGE_SIZE, {
        cjpeg_decode_rgb($0, $1, max(0, maxPixels), $2, $3, $4, $5)
    }, free: { cjpeg_free($0) })
}

/// Encodes as a baseline JPEG (4:2:0, libjpeg's standard tables at `quality` 1...100).
public func encodeJPEG(_ image: RGBImage, quality: Int = 90) throws -> [UInt8] {
    var jpeg: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_SIZE))
    let status = image.pixels.withUnsafeBufferPointer { buffer in
        cjpeg_encode_rgb(buffer.baseAddress, Int32(image.width), Int32(image.height), Int32(quality), &jpeg, &size, &message)
    }
    guard status == 0, let jpeg else {
        throw FormatError(file: "<memory>", field: "JPEG encode", expected: "an encodable \(image.width)x\(image.height) image",
                          found: String(cString: message))
    }
    defer { cjpeg_free(jpeg) }
    return Array(UnsafeBufferPointer(start: jpeg, count: Int(size)))
}
