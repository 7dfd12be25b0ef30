import Foundation
import TensorCore

/// A set of images to evaluate, read in batches so that memory holds one batch at a time.
public protocol ImageSource {
    var url: URL { get }
    var count: Int { get }
    /// Class labels, one per image, when the source has them (ADM's arr_1).
    var labels: [Int]? { get }
    /// Calls `body` with consecutive batches of at most `size` images, in order; `start` is the
    /// index of the batch's first image.
    func forEachBatch(size: Int, _ body: (_ start: Int, _ images: [RGBImage]) throws -> Void) throws
}

/// Opens what a user points at: an ADM-style `.npz` (arr_0: uint8 N×H×W×3, optional arr_1
/// labels), a `.npy` (uint8 N×H×W×3), or a folder of JPEG/PNG files (searched recursively).
/// A source with no images is an error.
public func openImageSource(_ url: URL) throws -> any ImageSource {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw FormatError(url, field: "images", expected: "an .npz, an .npy or a folder of images", found: "no such file or folder")
    }
    if isDirectory.boolValue { return try ImageFolderSource(url) }
    switch url.pathExtension.lowercased() {
    case "npz": return try ImageArraySource(npz: url)
    case "npy": return try ImageArraySource(npy: url)
    default:
        throw FormatError(url, field: "images", expected: "an .npz, an .npy or a folder of images",
                          found: "a file with extension '.\(url.pathExtension)'")
    }
}

// MARK: - folders

/// JPEG and PNG files under a folder, recursively, sorted by relative path (code-point order, as
/// Python's `sorted(glob(...))` in clean-fid). Hidden files and folders are skipped. Images may
/// have different sizes; each batch is decoded in parallel.
public final class ImageFolderSource: ImageSource {
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]
    public let url: URL
    /// The image files, in the order they are served.
    public let files: [URL]
    public var count: Int { files.count }
    public var labels: [Int]? { nil }

    public init(_ url: URL) throws {
        self.url = url
        let root = url.standardizedFileURL
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        guard let walker = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            throw FormatError(url, field: "folder", expected: "a readable folder", found: "cannot list it")
        }
        var found: [(relative: String, url: URL)] = []
        for case let file as URL in walker where ImageFolderSource.extensions.contains(file.pathExtension.lowercased()) {
            // Symlinked image files count (datasets are often linked in); symlinked folders are not followed.
            let isFile = { (u: URL) in (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            guard isFile(file) || isFile(file.resolvingSymlinksInPath()) else { continue }
            let path = file.standardizedFileURL.path
            found.append((path.hasPrefix(rootPath) ? String(path.dropFirst(rootPath.count)) : path, file))
        }
        found.sort { $0.relative.unicodeScalars.lexicographicallyPrecedes($1.relative.unicodeScalars) }
        guard !found.isEmpty else {
            throw FormatError(url, field: "images", expected: "at least one .jpg, .jpeg or .png file (searched recursively)",
                              found: "none")
        }
        files = found.map(\.url)
    }

    public func forEachBatch(size: Int, _ body: (_ start: Int, _ images: [RGBImage]) throws -> Void) throws {
        precondition(size > 0, "batch size must be positive")
        var start = 0
        while start < files.count {
            let batch = Array(files[start..<min(start + size, files.count)])
            var results = [Result<RGBImage, Error>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { slots in
                let slots = UncheckedSendable(slots)
                parallelFor(batch.count) { i in slots.value[i] = Result { try readImage(batch[i]) } }
            }
            try body(start, try results.map { try $0!.get() })
            start += batch.count
        }
    }
}

// MARK: - arrays (.npz / .npy)

/// Images stored as one uint8 array N×H×W×3 (ADM's sample and reference batches), streamed in
/// batches straight from the file.
public final class ImageArraySource: ImageSource {
    public let url: URL
    public let count: Int
    public let height: Int
    public let width: Int
    public let labels: [Int]?
    private let isNpz: Bool

    /// An ADM `.npz`: arr_0 holds the images, arr_1 (if present) the class labels.
    public init(npz url: URL) throws {
        self.url = url
        isNpz = true
        let npz = try NpzFile(contentsOf: url)
        guard npz.contains("arr_0") else {
            throw FormatError(url, field: "arr_0", expected: "an image array named arr_0 (np.savez(path, images))",
                              found: npz.names.isEmpty ? "no arrays" : "arrays " + npz.names.joined(separator: ", "))
        }
        let header = try npz.npyHeader("arr_0")
        (count, height, width) = try ImageArraySource.check(header, field: "arr_0", url: url)
        if npz.contains("arr_1") {
            let labelHeader = try npz.npyHeader("arr_1")
            guard labelHeader.shape == [count], !labelHeader.dtype.isFloatingPoint else {
                throw FormatError(url, field: "arr_1 (labels)", expected: "\(count) integer labels, shape (\(count),)",
                                  found: "\(labelHeader.dtype) \(labelHeader.shape)")
            }
            labels = try npz.array("arr_1").asInts()
        } else {
            labels = nil
        }
    }

    /// A `.npy` holding uint8 N×H×W×3.
    public init(npy url: URL) throws {
        self.url = url
        isNpz = false
        let file = try NpyFile(url)
        (count, height, width) = try ImageArraySource.check(file.header, field: "array", url: url)
        labels = nil
    }

    private static func check(_ header: NpyHeader, field: String, url: URL) throws -> (Int, Int, Int) {
        guard header.dtype == .uint8 else {
            throw FormatError(url, field: "\(field) dtype", expected: "uint8 pixels 0...255",
                              found: "\(header.dtype) (\(header.dtype.descr))")
        }
        let s = header.shape
        guard s.count == 4, s[3] == 3 else {
            let hint = s.count == 4 && s[1] == 3 ? " (channels first; expected NHWC)" : ""
            throw FormatError(url, field: "\(field) shape", expected: "(N, H, W, 3)", found: "\(s)\(hint)")
        }
        guard s[0] > 0 else { throw FormatError(url, field: "\(field) shape", expected: "at least one image", found: "\(s)") }
        guard s[1] > 0, s[2] > 0 else { throw FormatError(url, field: "\(field) shape", expected: "non-empty images", found: "\(s)") }
        return (s[0], s[1], s[2])
    }

    public func forEachBatch(size: Int, _ body: (_ start: Int, _ images: [RGBImage]) throws -> Void) throws {
        precondition(size > 0, "batch size must be positive")
        let (height, width) = (self.height, self.width)
        let imageBytes = height * width * 3
        let rows: (_ first: Int, _ n: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void = { first, n, bytes in
            let images = (0..<n).map { i in
                RGBImage(width: width, height: height,
                         pixels: Array(UnsafeRawBufferPointer(rebasing: bytes[(i * imageBytes)..<((i + 1) * imageBytes)])))
            }
            try body(first, images)
        }
        if isNpz {
            try NpzFile(contentsOf: url).streamRows("arr_0", rowsPerChunk: size, rows)
        } else {
            try NpyFile(url).streamRows(rowsPerChunk: size, rows)
        }
    }
}
