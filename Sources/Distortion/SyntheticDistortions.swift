import Foundation
import TensorCore
import TensorIO

/// The kinds of damage the classifier learns to flag, made synthetically from clean reference
/// images. They imitate what the DiMR paper shows in low-fidelity samples of patchified
/// transformers: patch-grid seams, parts in the wrong place or repeated, bent geometry, torn
/// texture. Five kinds train the classifier; four related but different kinds are held out, to
/// measure whether it learned "distorted" rather than five particular recipes.
public enum DistortionKind: String, CaseIterable, Codable, Sendable {
    // Used for training.
    case patchGrid          // seams along a p×p grid, p ∈ {2, 4, 8, 16}: visible patch boundaries
    case misplacedPatches   // grid-aligned patches swapped: parts in the wrong place
    case duplicatedPart     // a region copied onto another place
    case swirl              // a local swirl: bent geometry
    case tear               // a band shifted sideways: torn texture
    // Held out: never shown in training, only used to validate.
    case patchMosaic        // each p×p patch with its own brightness and colour offset
    case flippedRegion      // a region mirrored in place: broken geometry
    case ripple             // a sinusoidal local displacement: wobbly structure
    case patchPixelation    // a region where every p×p patch is flattened to its mean colour

    public static let training: [DistortionKind] = [.patchGrid, .misplacedPatches, .duplicatedPart, .swirl, .tear]
    public static let heldOut: [DistortionKind] = [.patchMosaic, .flippedRegion, .ripple, .patchPixelation]
    public var isHeldOut: Bool { DistortionKind.heldOut.contains(self) }

    public var summary: String {
        switch self {
        case .patchGrid: "seams along a p×p patch grid (p = 2/4/8/16)"
        case .misplacedPatches: "grid-aligned patches swapped"
        case .duplicatedPart: "a region copied onto another place"
        case .swirl: "a local swirl warp"
        case .tear: "a band shifted sideways (tearing)"
        case .patchMosaic: "per-patch brightness/colour offsets (p = 2/4/8/16)"
        case .flippedRegion: "a region mirrored in place"
        case .ripple: "a sinusoidal local displacement"
        case .patchPixelation: "a region flattened to p×p patch means"
        }
    }
}

/// The patch sizes of the models the paper compares (DiT-XL/2, U-ViT-H/2, and coarser variants),
/// limited to what fits at least four times across the image.
public func modelPatchSizes(width: Int, height: Int) -> [Int] {
    [2, 4, 8, 16].filter { $0 * 4 <= min(width, height) }
}

/// Applies one distortion of `kind` to `image`. Everything random comes from `rng`, so a seed
/// reproduces the exact output.
public func distort(_ image: RGBImage, kind: DistortionKind, rng: inout SplitMix64) -> RGBImage {
    let w = image.width, h = image.height, side = min(w, h)
    let patchSizes = modelPatchSizes(width: w, height: h)
    let patch = patchSizes.isEmpty ? 1 : patchSizes[rng.below(patchSizes.count)]
    var out = image
    func setPixel(_ x: Int, _ y: Int, _ c: Int, _ v: Float) { out.pixels[(y * w + x) * 3 + c] = UInt8(clampingPixel: v) }
    func value(_ x: Int, _ y: Int, _ c: Int) -> Float { Float(image.pixels[(y * w + x) * 3 + c]) }
    /// A square of side `size` at a random position inside the image.
    func randomSquare(_ size: Int) -> (x: Int, y: Int) { (rng.int(0...(w - size)), rng.int(0...(h - size))) }

    switch kind {
    case .patchGrid:
        let amplitude = Float(rng.uniform(10, 28)) * Float(rng.sign())
        let axes = rng.below(5)  // 0: vertical seams only, 1: horizontal only, else both
        for y in 0..<h {
            for x in 0..<w {
                let onColumn = x % patch == 0 && axes != 1, onRow = y % patch == 0 && axes != 0
                guard onColumn || onRow else { continue }
                for c in 0..<3 { setPixel(x, y, c, value(x, y, c) + amplitude) }
            }
        }

    case .misplacedPatches:
        let size = max(2, side / (rng.below(2) == 0 ? 4 : 8))
        let cols = w / size, rows = h / size
        for _ in 0..<rng.int(1...3) where cols * rows >= 2 {
            let a = rng.below(cols * rows)
            var b = rng.below(cols * rows)
            while b == a { b = rng.below(cols * rows) }
            let (ax, ay, bx, by) = (a % cols * size, a / cols * size, b % cols * size, b / cols * size)
            let current = out
            for dy in 0..<size {
                for dx in 0..<size {
                    for c in 0..<3 {
                        out.pixels[((ay + dy) * w + ax + dx) * 3 + c] = current.pixels[((by + dy) * w + bx + dx) * 3 + c]
                        out.pixels[((by + dy) * w + bx + dx) * 3 + c] = current.pixels[((ay + dy) * w + ax + dx) * 3 + c]
                    }
                }
            }
        }

    case .duplicatedPart:
        let size = max(2, Int(Double(side) * rng.uniform(0.22, 0.38)))
        let source = randomSquare(size)
        var target = randomSquare(size)
        for _ in 0..<20 where abs(target.x - source.x) + abs(target.y - source.y) < size { target = randomSquare(size) }
        for dy in 0..<size {
            for dx in 0..<size {
                for c in 0..<3 { setPixel(target.x + dx, target.y + dy, c, value(source.x + dx, source.y + dy, c)) }
            }
        }

    case .swirl:
        let cx = rng.uniform(0.3, 0.7) * Double(w), cy = rng.uniform(0.3, 0.7) * Double(h)
        let radius = rng.uniform(0.25, 0.45) * Double(side)
        let strength = rng.uniform(1.5, 4) * rng.sign()
        warp(image, into: &out) { x, y in
            let dx = x - cx, dy = y - cy, d = (dx * dx + dy * dy).squareRoot()
            guard d < radius else { return nil }
            let angle = strength * (1 - d / radius) * (1 - d / radius)
            return (cx + dx * cos(angle) - dy * sin(angle), cy + dx * sin(angle) + dy * cos(angle))
        }

    case .tear:
        let vertical = rng.below(3) == 0
        let length = vertical ? w : h, across = vertical ? h : w
        let band = max(1, Int(Double(length) * rng.uniform(0.06, 0.2)))
        let start = rng.int(0...(length - band))
        let shift = Int(Double(across) * rng.uniform(0.1, 0.35)) * Int(rng.sign())
        for i in start..<(start + band) {
            for j in 0..<across {
                let from = ((j - shift) % across + across) % across
                for c in 0..<3 {
                    if vertical { setPixel(i, j, c, value(i, from, c)) } else { setPixel(j, i, c, value(from, i, c)) }
                }
            }
        }

    case .patchMosaic:
        let amplitude = rng.uniform(8, 24)
        for py in stride(from: 0, to: h, by: patch) {
            for px in stride(from: 0, to: w, by: patch) {
                let brightness = rng.uniform(-amplitude, amplitude)
                let tint = (0..<3).map { _ in Float(brightness + rng.uniform(-amplitude / 2, amplitude / 2)) }
                for y in py..<min(py + patch, h) {
                    for x in px..<min(px + patch, w) { for c in 0..<3 { setPixel(x, y, c, value(x, y, c) + tint[c]) } }
                }
            }
        }

    case .flippedRegion:
        let size = max(2, Int(Double(side) * rng.uniform(0.3, 0.5)))
        let (ox, oy) = randomSquare(size)
        let mode = rng.below(3)  // mirror left-right, top-bottom, or rotate by 180°
        for dy in 0..<size {
            for dx in 0..<size {
                let sx = mode == 1 ? dx : size - 1 - dx, sy = mode == 0 ? dy : size - 1 - dy
                for c in 0..<3 { setPixel(ox + dx, oy + dy, c, value(ox + sx, oy + sy, c)) }
            }
        }

    case .ripple:
        let cx = rng.uniform(0.3, 0.7) * Double(w), cy = rng.uniform(0.3, 0.7) * Double(h)
        let radius = rng.uniform(0.3, 0.5) * Double(side)
        let amplitude = max(1.5, rng.uniform(0.03, 0.06) * Double(side))
        let wavelength = max(4, rng.uniform(0.1, 0.2) * Double(side))
        warp(image, into: &out) { x, y in
            let d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)).squareRoot()
            guard d < radius else { return nil }
            let fade = 0.5 + 0.5 * cos(Double.pi * d / radius)
            return (x + fade * amplitude * sin(2 * Double.pi * y / wavelength),
                    y + fade * amplitude * sin(2 * Double.pi * x / wavelength))
        }

    case .patchPixelation:
        let cells = max(1, Int(Double(side) * rng.uniform(0.4, 0.7)) / patch)
        let size = cells * patch
        let ox = rng.int(0...((w - size) / patch)) * patch, oy = rng.int(0...((h - size) / patch)) * patch
        for py in stride(from: oy, to: oy + size, by: patch) {
            for px in stride(from: ox, to: ox + size, by: patch) {
                for c in 0..<3 {
                    var sum: Float = 0
                    for y in py..<(py + patch) { for x in px..<(px + patch) { sum += value(x, y, c) } }
                    let mean = sum / Float(patch * patch)
                    for y in py..<(py + patch) { for x in px..<(px + patch) { setPixel(x, y, c, mean) } }
                }
            }
        }
    }
    return out
}

/// Resamples `source` into `out` where `map` gives a source position for a destination pixel
/// (pixels with no position are left as they are).
private func warp(_ source: RGBImage, into out: inout RGBImage, _ map: (Double, Double) -> (Double, Double)?) {
    for y in 0..<source.height {
        for x in 0..<source.width {
            guard let (sx, sy) = map(Double(x), Double(y)) else { continue }
            for c in 0..<3 { out.pixels[(y * source.width + x) * 3 + c] = UInt8(clampingPixel: source.bilinear(sx, sy, c)) }
        }
    }
}
