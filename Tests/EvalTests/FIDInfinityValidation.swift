import DiMRTrainer
import Distortion
import Eval
import Foundation
import InceptionNet
import TensorCore
import TensorIO
import XCTest

/// The long check behind the README's FID∞ figures (Chong & Forsyth 2020): is FID∞ from 256
/// samples closer to the FID of 10,000 samples than FID from 256 samples is? Skipped unless
/// DIMR_EVAL_FID_INFINITY_VALIDATION names a folder; it writes there, once,
/// - `reference.npz`: 5,000 clean images of the embedded shapes (indices from 3,000,000),
/// - `samples.npz`: 10,000 other embedded images (indices from 4,000,000), each damaged by one of
///   the distortion classifier's five training kinds in turn: a "model" whose FID is far from 0,
/// and their pool3 features (`*-pool.npz`, ~30 min of Inception on 2 cores), then compares the
/// estimators on disjoint 256-sample subsets and writes `result.json`. See
/// fixtures/fidinf/VALIDATION.md for the command and the numbers.
final class FIDInfinityValidation: XCTestCase {
    static let referenceCount = 5_000, sampleCount = 10_000, smallN = 256

    func testFIDInfinityAtSmallNOnEmbeddedData() throws {
        guard let path = ProcessInfo.processInfo.environment["DIMR_EVAL_FID_INFINITY_VALIDATION"] else {
            throw XCTSkip("set DIMR_EVAL_FID_INFINITY_VALIDATION=/some/folder to run the 30-minute FID∞ validation")
        }
        let dir = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let reference = try poolFeatures(dir, "reference", count: Self.referenceCount, firstIndex: 3_000_000, distorted: false)
        let samples = try poolFeatures(dir, "samples", count: Self.sampleCount, firstIndex: 4_000_000, distorted: true)
        try analyse(reference: reference, samples: samples, into: dir)
    }

    /// pool3 features of `count` embedded images, from `dir/NAME-pool.npz` when it exists.
    func poolFeatures(_ dir: URL, _ name: String, count: Int, firstIndex: Int, distorted: Bool) throws -> Tensor {
        let features = dir.appendingPathComponent("\(name)-pool.npz")
        if let npz = try? NpzFile(contentsOf: features), let pool = try? npz.array("pool"), pool.shape == [count, 2048] {
            return Tensor(shape: pool.shape, values: try pool.asFloats())
        }
        let batch = dir.appendingPathComponent("\(name).npz")
        let shapes = EmbeddedShapes(seed: 0)
        let writer = try NpzStreamWriter(url: batch, dtype: .uint8, shape: [count, shapes.size, shapes.size, 3])
        for i in 0..<count {
            var image = shapes.image(firstIndex + i).image
            if distorted {
                var rng = SplitMix64(seed: 0, stream: "fid-infinity-validation", index: i)
                image = distort(image, kind: DistortionKind.training[i % DistortionKind.training.count], rng: &rng)
            }
            try writer.append(images: [image])
        }
        try writer.finish()
        let extractor = try FeatureExtractor()
        var pool = [Float]()
        pool.reserveCapacity(count * 2048)
        let started = Date()
        try extractor.extract(try openImageSource(batch), progress: true) { b in
            pool += b.pool
            if (b.start + b.count) % 512 < b.count {
                print(String(format: "%@: %d/%d images, %.0f s", name, b.start + b.count, count, Date().timeIntervalSince(started)))
            }
        }
        try writeNpz([("pool", NpyArray(floats: pool, shape: [count, 2048]))], to: features)
        return Tensor(shape: [count, 2048], values: pool)
    }

    /// FID of all 10,000 samples is the target. The 10,000 are cut into 39 disjoint sets of 256;
    /// on each: FID, FID∞ (15 subsets from the smallest size to 256: half — the default —, a fifth,
    /// and a tenth as the authors' 5,000 of 50,000), and for the first 8 FID's 95% bootstrap
    /// interval (200 resamples). Everything against the same 5,000-image reference statistics.
    func analyse(reference: Tensor, samples: Tensor, into dir: URL) throws {
        let referenceStatistics = try moments(reference).gaussian()
        let n = Self.smallN, sets = samples.shape[0] / n
        let all = try UnbiasedScores.fidInfinity(samples: samples, reference: referenceStatistics, minimumSize: 2000, points: 15, seed: 0)
        let target = all.scores.last!
        func subset(_ k: Int) -> Tensor {
            Tensor(shape: [n, 2048], values: Array(samples.buffer[(k * n * 2048)..<((k + 1) * n * 2048)]))
        }
        var fids: [Double] = [], infinity: [String: [Double]] = [:], intervals: [[Double]] = []
        let minima = ["default": UnbiasedScores.defaultMinimumSize(total: n), "fifth": n / 5, "tenth": n / 10]
        for k in 0..<sets {
            let part = subset(k)
            for (name, minimum) in minima {
                let fit = try UnbiasedScores.fidInfinity(samples: part, reference: referenceStatistics, minimumSize: minimum, points: 15, seed: 0)
                if name == "default" { fids.append(fit.scores.last!) }
                infinity[name, default: []].append(fit.value)
            }
            if k < 8 {
                let ci = try UnbiasedScores.fidBootstrap(samples: part, reference: referenceStatistics, resamples: 200, seed: UInt64(k))
                intervals.append([ci.low, ci.high])
            }
            print(String(format: "set %d: FID %.3f  FID∞ %.3f (from 128) %.3f (from 51) %.3f (from 25)", k, fids[k],
                         infinity["default"]![k], infinity["fifth"]![k], infinity["tenth"]![k]))
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        func sd(_ v: [Double]) -> Double { let m = mean(v); return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot() }
        var summary: [String: Any] = [
            "reference_images": reference.shape[0], "samples": samples.shape[0], "small_n": n, "sets": sets,
            "fid_all": target, "fid_infinity_all_2000_to_10000": all.value,
            "fid_small_mean": mean(fids), "fid_small_sd": sd(fids),
            "fid_small_mean_abs_error": mean(fids.map { abs($0 - target) }),
            "bootstrap_intervals_first_8": intervals,
            "bootstrap_covers_fid_all": intervals.filter { $0[0] <= target && target <= $0[1] }.count,
        ]
        for (name, values) in infinity {
            summary["fid_infinity_\(name)_mean"] = mean(values)
            summary["fid_infinity_\(name)_sd"] = sd(values)
            summary["fid_infinity_\(name)_mean_abs_error"] = mean(values.map { abs($0 - target) })
            summary["fid_infinity_\(name)_closer_in"] = zip(values, fids).filter { abs($0 - target) < abs($1 - target) }.count
        }
        summary["per_set_fid"] = fids
        summary["per_set_fid_infinity_default"] = infinity["default"]
        let data = try encodeJSONObject(summary, style: .document)
        try data.write(to: dir.appendingPathComponent("result.json"))
        print(String(decoding: data, as: UTF8.self))
        XCTAssertLessThan(summary["fid_infinity_default_mean_abs_error"] as! Double, summary["fid_small_mean_abs_error"] as! Double,
                          "FID∞ at 256 samples is closer to the 10,000-sample FID than FID at 256 is")
    }
}
