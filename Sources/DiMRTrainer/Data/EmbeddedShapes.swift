import Foundation
import TensorCore
import TensorIO

/// The built-in dataset: 32×32 RGB images of ten classes of simple geometric objects, drawn on
/// the fly from (seed, index) — nothing to download, and an endless supply.
///
/// The classes are chosen for what the DiMR paper studies: straight horizontal and vertical
/// edges, diagonals, exact symmetry, curves and regular textures (stripes, checkerboards). A
/// patchifying model that leaves a p×p grid in its samples, or bends a straight edge at a patch
/// border, shows it plainly here. Edges are anti-aliased (4×4 supersampling); position, size,
/// colours and the background gradient vary per image.
public struct EmbeddedShapes: Sendable {
    public static let classNames = ["square", "disc", "triangle", "plus", "ring",
                                    "stripes", "checkerboard", "diamond", "house", "cross"]
    public let seed: UInt64
    public let size: Int

    public init(seed: UInt64 = 0, size: Int = 32) { self.seed = seed; self.size = size }

    public var numClasses: Int { Self.classNames.count }

    /// Class of image `index` (uniform over the classes, fixed by seed and index).
    public func label(_ index: Int) -> Int {
        var rng = SplitMix64(seed: seed, stream: "shape \(index)")
        return rng.below(numClasses)
    }

    /// Image `index`, with its label.
    public func image(_ index: Int) -> (image: RGBImage, label: Int) {
        var rng = SplitMix64(seed: seed, stream: "shape \(index)")
        let label = rng.below(numClasses)
        let n = Double(size)
        let half = n * (0.22 + 0.16 * rng.uniform())                     // half-size: 7–12 px at 32
        let cx = n / 2 + (rng.uniform() * 2 - 1) * (n / 2 - half - 1) * 0.8
        let cy = n / 2 + (rng.uniform() * 2 - 1) * (n / 2 - half - 1) * 0.8
        // Foreground and background on opposite sides of mid-grey, so the object always stands out.
        let light = rng.uniform() < 0.5
        let fg = Self.colour(&rng, bright: light), bg0 = Self.colour(&rng, bright: !light), bg1 = Self.colour(&rng, bright: !light)
        let gradientAngle = rng.uniform() * 2 * Double.pi
        let (gx, gy) = (Foundation.cos(gradientAngle), Foundation.sin(gradientAngle))
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        let sub = 4
        for y in 0..<size {
            for x in 0..<size {
                var cover = 0
                for sy in 0..<sub {
                    for sx in 0..<sub {
                        let px = Double(x) + (Double(sx) + 0.5) / Double(sub), py = Double(y) + (Double(sy) + 0.5) / Double(sub)
                        if Self.inside(label, u: (px - cx) / half, v: (py - cy) / half) { cover += 1 }
                    }
                }
                let a = Double(cover) / Double(sub * sub)
                let g = 0.5 + 0.5 * ((Double(x) / n - 0.5) * gx + (Double(y) / n - 0.5) * gy)
                for c in 0..<3 {
                    let bg = bg0[c] + (bg1[c] - bg0[c]) * g
                    pixels[(y * size + x) * 3 + c] = UInt8(max(0, min(255, (bg + (fg[c] - bg) * a) * 255 + 0.5)))
                }
            }
        }
        return (RGBImage(width: size, height: size, pixels: pixels), label)
    }

    private static func colour(_ rng: inout SplitMix64, bright: Bool) -> [Double] {
        (0..<3).map { _ in bright ? 0.6 + 0.4 * rng.uniform() : 0.05 + 0.35 * rng.uniform() }
    }

    /// Whether the point (u, v) — object coordinates, the object spans [−1, 1]², v pointing down — is inside.
    static func inside(_ label: Int, u: Double, v: Double) -> Bool {
        let au = abs(u), av = abs(v)
        let box = au <= 1 && av <= 1
        switch label {
        case 0: return box                                                    // square
        case 1: return u * u + v * v <= 1                                     // disc
        case 2: return v <= 1 && v >= -1 && au <= (v + 1) / 2                 // upright triangle
        case 3: return (au <= 0.3 && av <= 1) || (av <= 0.3 && au <= 1)       // plus
        case 4: let r = (u * u + v * v).squareRoot(); return r >= 0.55 && r <= 1   // ring
        case 5: return box && Int(((v + 1) * 2.5).rounded(.down)) % 2 == 0    // five horizontal stripes
        case 6: return box && (Int(((u + 1) * 2).rounded(.down)) + Int(((v + 1) * 2).rounded(.down))) % 2 == 0  // 4×4 checkerboard
        case 7: return au + av <= 1                                           // diamond
        case 8:                                                               // house: body, roof, door
            let body = au <= 0.7 && v >= 0 && v <= 1
            let roof = v < 0 && v >= -1 && au <= 0.9 * (v + 1)
            let door = au <= 0.2 && v >= 0.45
            return (body || roof) && !door
        default: return box && (abs(u - v) <= 0.35 || abs(u + v) <= 0.35)   // diagonal cross
        }
    }
}

extension EmbeddedShapes {
    /// Images `range` as an ADM batch (arr_0 uint8 NHWC, arr_1 int64 labels), streamed to `url`
    /// one image at a time (atomically: a temporary file renamed at the end), so any count fits in memory.
    public func writeBatch(_ range: Range<Int>, to url: URL) throws {
        let writer = try NpzStreamWriter(url: url, dtype: .uint8, shape: [range.count, size, size, 3])
        var labels: [Int64] = []
        labels.reserveCapacity(range.count)
        for index in range {
            let (image, label) = self.image(index)
            try writer.append(images: [image])
            labels.append(Int64(label))
        }
        try writer.finish(extras: [("arr_1", NpyArray(int64: labels, shape: [range.count]))])
    }
}
