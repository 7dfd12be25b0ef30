import Foundation
import TensorCore
import XCTest

/// The ops against PyTorch's own outputs and autograd gradients (fixtures/ops/golden.json; how it
/// was made is in fixtures/ops/COMMANDS.md). This pins the conventions — padding order, pixel
/// shuffle's channel order, half-pixel resize, count_include_pad — that naive loops written by
/// the same hand could get wrong the same way.
final class TorchGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Array: Decodable { var shape: [Int]; var data: [Double] }
        var cases: [String: [String: Value]]
        enum Value: Decodable {
            case tensor(Array), ints([Int]), number(Double)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let t = try? c.decode(Array.self) { self = .tensor(t) }
                else if let v = try? c.decode([Int].self) { self = .ints(v) }
                else { self = .number(try c.decode(Double.self)) }
            }
        }
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/ops/golden.json")
        guard let data = try? Data(contentsOf: url) else { fatalError("missing fixture \(url.path)") }
        do { return try JSONDecoder().decode(Golden.self, from: data) } catch { fatalError("bad fixture \(url.path): \(error)") }
    }()

    func tensor(_ c: String, _ k: String) -> Tensor {
        guard case .tensor(let a)? = Self.golden.cases[c]?[k] else { fatalError("fixture lacks \(c).\(k)") }
        return Tensor(shape: a.shape, values: a.data.map { Float($0) })
    }
    func values(_ c: String, _ k: String) -> (shape: [Int], data: [Double]) {
        guard case .tensor(let a)? = Self.golden.cases[c]?[k] else { fatalError("fixture lacks \(c).\(k)") }
        return (a.shape, a.data)
    }
    func ints(_ c: String, _ k: String) -> [Int] {
        guard let v = Self.golden.cases[c]?[k] else { fatalError("fixture lacks \(c).\(k)") }
        switch v { case .ints(let a): return a; case .number(let d): return [Int(d)]; default: fatalError("\(c).\(k) is not ints") }
    }

    /// conv2d forward and all three gradients vs torch; tolerance 1e-5 relative (float32 both sides).
    func testConvolutionAndGradients() {
        for name in ["conv_grouped", "conv_depthwise", "conv_1x7"] {
            let x = tensor(name, "x"), w = tensor(name, "weight"), b = tensor(name, "bias"), dy = tensor(name, "gradOutput")
            let groups = ints(name, "groups")[0], s = ints(name, "stride"), p = ints(name, "padding")
            let pad = Padding2D(top: p[0], bottom: p[1], left: p[2], right: p[3])
            let y = conv2d(x, weight: w, bias: b, stride: (s[0], s[1]), padding: pad, groups: groups)
            let ref = values(name, "y")
            assertClose(y, ref.data, shape: ref.shape, tolerance: 1e-5, "\(name) forward")
            let g = conv2dBackward(dy, input: x, weight: w, stride: (s[0], s[1]), padding: pad, groups: groups)
            for (got, key) in [(g.input!, "gradInput"), (g.weight, "gradWeight"), (g.bias!, "gradBias")] {
                let r = values(name, key)
                assertClose(got, r.data, shape: r.shape, tolerance: 1e-5, "\(name) \(key)")
            }
        }
    }

    func testPooling() {
        let x = tensor("pool", "x")
        let checks: [(String, Tensor)] = [
            ("max3s2p1", maxPool2d(x, kernel: (3, 3), stride: (2, 2), padding: .same(1, 1))),
            ("avg3s1p1_exclude", avgPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1), countIncludePad: false)),
            ("avg3s1p1_include", avgPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1), countIncludePad: true)),
            ("avg2s2", avgPool2d(x, kernel: (2, 2), stride: (2, 2), countIncludePad: true)),
        ]
        for (key, got) in checks {
            let r = values("pool", key)
            assertClose(got, r.data, shape: r.shape, tolerance: 1e-6, "pool \(key)")
        }
    }

    /// torch's bilinear kernel computes indices and weights in float32 like ours: tolerance 1e-6.
    func testBilinearResize() {
        let x = tensor("resize", "x")
        for (key, h, w, corners) in [("up_9x11", 9, 11, false), ("down_3x2", 3, 2, false),
                                     ("up_9x11_corners", 9, 11, true), ("down_3x4_corners", 3, 4, true)] {
            let r = values("resize", key)
            assertClose(resizeBilinear(x, height: h, width: w, alignCorners: corners), r.data, shape: r.shape,
                        tolerance: 1e-6, "resize \(key)")
        }
    }

    /// A permutation: exactly torch's values (as the fixture's float32 values).
    func testPixelShuffleAndGradient() {
        let y = pixelShuffle(tensor("pixel_shuffle", "x"), factor: 2)
        let r = values("pixel_shuffle", "y")
        XCTAssertEqual(y.shape, r.shape)
        XCTAssertEqual(y.array, r.data.map { Float($0) }, "pixel shuffle")
        let g = pixelShuffleBackward(tensor("pixel_shuffle", "gradOutput"), factor: 2)
        let rg = values("pixel_shuffle", "gradInput")
        XCTAssertEqual(g.shape, rg.shape)
        XCTAssertEqual(g.array, rg.data.map { Float($0) }, "pixel shuffle gradient")
    }

    func testBatchNorm() {
        let c = "batch_norm"
        let y = batchNormInference(tensor(c, "x"), mean: tensor(c, "mean"), variance: tensor(c, "variance"),
                                   gamma: tensor(c, "gamma"), beta: tensor(c, "beta"), eps: 1e-3)
        let r = values(c, "y")
        assertClose(y, r.data, shape: r.shape, tolerance: 1e-6, "batch norm")
    }
}
