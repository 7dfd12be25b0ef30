import CFFTW
import Foundation
import TensorIO

/// Spectral evidence of periodic patch-grid artifacts (FFTW).
///
/// A patchified transformer that leaves seams, or per-patch offsets, at patch size p makes the
/// gradient magnitude periodic with period p along x and y. In the power spectrum of |∂x| that
/// shows up as energy on the frequency columns kx = k·W/p (k = 1…p/2) that stands out from the
/// neighbouring columns; likewise rows ky = k·H/p for |∂y|. Natural images have smooth spectra
/// there. For each model patch size and axis we report the log ratio of peak to neighbour energy,
/// averaged and maximised over the harmonics.
public final class PatchGridSpectrum: @unchecked Sendable {
    public static let patchSizes = [2, 4, 8, 16]

    /// Feature names, in output order.
    public static let featureNames: [String] = patchSizes.flatMap { p in
        ["x", "y"].flatMap { axis in ["grid\(p)_\(axis)_mean", "grid\(p)_\(axis)_max"] }
    } + ["highpass_fraction"]

    public init() {}

    /// Features of one image (length `featureNames.count`).
    public func features(_ image: RGBImage) -> [Float] {
        let w = image.width, h = image.height
        let luma = image.luma
        var gx = [Float](repeating: 0, count: w * h), gy = gx
        for y in 0..<h {
            for x in 0..<w {
                let v = luma[y * w + x]
                gx[y * w + x] = x + 1 < w ? abs(luma[y * w + x + 1] - v) : 0
                gy[y * w + x] = y + 1 < h ? abs(luma[(y + 1) * w + x] - v) : 0
            }
        }
        let columns = lineEnergies(gx, width: w, height: h).columns  // vertical seams → kx lines
        let rows = lineEnergies(gy, width: w, height: h).rows        // horizontal seams → ky lines
        var out: [Float] = []
        for p in PatchGridSpectrum.patchSizes {
            for (profile, n) in [(columns, w), (rows, h)] {
                let ratios = PatchGridSpectrum.peakRatios(profile, length: n, period: p)
                out.append(ratios.isEmpty ? 0 : ratios.reduce(0, +) / Float(ratios.count))
                out.append(ratios.max() ?? 0)
            }
        }
        // Share of luma energy above half the Nyquist frequency: blur vs. noise-like texture.
        let spectrum = lineEnergies(luma.map { $0 / 255 }, width: w, height: h)
        let total = spectrum.columns.dropFirst().reduce(0, +)
        let high = spectrum.columns.enumerated().filter { $0.offset > w / 4 }.map(\.element).reduce(0, +)
        out.append(total > 0 ? Float(high / total) : 0)
        return out
    }

    /// log((E[f] + ε) / (mean of E at f±1, f±2 + ε)) for f = k·n/p, k = 1…, f ≤ n/2; empty when the
    /// period does not fit at least four times.
    static func peakRatios(_ energy: [Double], length n: Int, period p: Int) -> [Float] {
        guard p * 4 <= n else { return [] }
        let peaks = Set((1...(p / 2)).map { Int((Double($0 * n) / Double(p)).rounded()) }.filter { $0 >= 1 && $0 <= n / 2 })
        let floor = (energy.dropFirst().reduce(0, +) / Double(max(energy.count - 1, 1))) * 1e-6 + 1e-12
        return peaks.sorted().map { f in
            let neighbours = [f - 2, f - 1, f + 1, f + 2].filter { $0 >= 1 && $0 <= n / 2 && !peaks.contains($0) }
            let around = neighbours.isEmpty ? energy[f] : neighbours.map { energy[$0] }.reduce(0, +) / Double(neighbours.count)
            return Float(log((energy[f] + floor) / (around + floor)))
        }
    }

    /// Power of the 2-D spectrum of `plane` (H×W) summed along lines: `columns[kx]` sums over all
    /// ky (kx = 0…W/2), `rows[ky]` sums over all kx, folded so that ky = 0…H/2.
    func lineEnergies(_ plane: [Float], width w: Int, height h: Int) -> (columns: [Double], rows: [Double]) {
        let half = w / 2 + 1
        var spectrum = [fftwf_complex](repeating: (0, 0), count: h * half)
        var input = plane
        let plan = FFTPlans.shared.r2c(height: h, width: w)
        input.withUnsafeMutableBufferPointer { i in
            spectrum.withUnsafeMutableBufferPointer { o in fftwf_execute_dft_r2c(plan, i.baseAddress, o.baseAddress) }
        }
        var columns = [Double](repeating: 0, count: half), rows = [Double](repeating: 0, count: h / 2 + 1)
        for ky in 0..<h {
            let foldedY = min(ky, h - ky)
            for kx in 0..<half {
                let (re, im) = spectrum[ky * half + kx]
                let power = Double(re * re + im * im)
                columns[kx] += power
                // The r2c output holds half of the kx axis; the other half mirrors it.
                let mirrored = (kx == 0 || (w % 2 == 0 && kx == w / 2)) ? 1.0 : 2.0
                rows[foldedY] += power * mirrored
            }
        }
        return (columns, rows)
    }
}

/// FFTW plans by size. Planning is not thread-safe in FFTW, so it happens under a lock; executing
/// a plan on new arrays (`fftwf_execute_dft_r2c`) is, and FFTW_UNALIGNED lets any Swift array be
/// used. FFTW_ESTIMATE leaves the arrays alone (FFTW_MEASURE would overwrite them).
final class FFTPlans: @unchecked Sendable {
    static let shared = FFTPlans()
    private var plans: [Int: fftwf_plan] = [:]
    private let lock = NSLock()

    func r2c(height: Int, width: Int) -> fftwf_plan {
        lock.lock(); defer { lock.unlock() }
        let key = height << 32 | width
        if let plan = plans[key] { return plan }
        let input = fftwf_alloc_real(height * width)!
        let output = fftwf_alloc_complex(height * (width / 2 + 1))!
        defer { fftwf_free(input); fftwf_free(output) }
        let plan = fftwf_plan_dft_r2c_2d(Int32(height), Int32(width), input, output,
                                         UInt32(FFTW_ESTIMATE) | UInt32(FFTW_UNALIGNED))!
        plans[key] = plan
        return plan
    }
}
