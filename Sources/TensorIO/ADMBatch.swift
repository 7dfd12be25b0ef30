import Foundation

/// Writes an ADM sample batch, the file `openImageSource` reads back: `arr_0` uint8 (N, H, W, 3)
/// and `arr_1` int64 (N) labels, as ADM's sampler saves them (`dimr-eval sample`, and the
/// checkpoint samples and held-out reference of `train`). The images must share one size.
public func writeADMBatch(_ images: [RGBImage], labels: [Int], to url: URL) throws {
    guard let first = images.first else {
        throw FormatError(url, field: "arr_0", expected: "at least one image to write", found: "none")
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(images.count * first.pixels.count)
    for image in images { bytes += image.pixels }
    try writeNpz([("arr_0", NpyArray(uint8: bytes, shape: [images.count, first.height, first.width, 3])),
                  ("arr_1", NpyArray(int64: labels.map(Int64.init), shape: [labels.count]))], to: url)
}
