import TensorCore
import XCTest

/// conv2d and conv2dBackward against the naive Double loops in TestSupport.swift.
/// Tolerance 1e-5 of the output scale: float32 sums of ≤ ~3500 products of values in -1...1.
final class ConvTests: XCTestCase {
    struct Case {
        var x: [Int], o: Int, k: (Int, Int), stride = (1, 1), pad = Padding2D.zero, groups = 1
        var label: String { "x \(x) o \(o) k \(k) s \(stride) \(pad) g \(groups)" }
    }

    static let cases: [Case] = [
        Case(x: [2, 3, 9, 8], o: 5, k: (3, 3), pad: .same(1, 1)),                      // plain 3x3
        Case(x: [3, 6, 7, 5], o: 4, k: (1, 1)),                                         // pointwise: straight to GEMM
        Case(x: [2, 4, 11, 10], o: 6, k: (3, 2), stride: (2, 3),
             pad: Padding2D(top: 1, bottom: 0, left: 2, right: 1), groups: 2),         // grouped, strided, asymmetric
        Case(x: [1, 5, 17, 17], o: 7, k: (1, 7), pad: .same(0, 3)),                    // Inception 1x7
        Case(x: [1, 5, 17, 17], o: 7, k: (7, 1), pad: .same(3, 0)),                    // and 7x1
        Case(x: [2, 3, 13, 13], o: 4, k: (3, 3), stride: (2, 2)),                       // Inception stride-2 reduction
        Case(x: [1, 2, 40, 37], o: 3, k: (3, 3), pad: .same(1, 1)),                     // many tiles, tiles cut output rows
        Case(x: [5, 3, 23, 29], o: 4, k: (2, 2), stride: (1, 1)),                       // several images' tiles in one queue
        Case(x: [2, 6, 12, 12], o: 6, k: (7, 7), pad: .same(3, 3), groups: 6),         // depthwise 7x7 (ConvNeXt)
        Case(x: [2, 3, 9, 10], o: 6, k: (3, 3), stride: (2, 1), pad: .same(1, 1), groups: 3), // depthwise, multiplier 2
        Case(x: [2, 4, 9, 11], o: 4, k: (3, 5), pad: Padding2D(top: 0, bottom: 2, left: 1, right: 3), groups: 4), // depthwise, asymmetric
        Case(x: [1, 3, 5, 21], o: 3, k: (3, 3), pad: .same(1, 1), groups: 3),          // depthwise, rows longer than 8 lanes + tail
        Case(x: [1, 2, 4, 4], o: 3, k: (4, 4)),                                         // kernel = whole image
        Case(x: [2, 1, 6, 6], o: 2, k: (3, 3), pad: Padding2D(top: 2, bottom: 2, left: 0, right: 2)), // pad ≥ kernel/2
    ]

    func testForwardMatchesNaiveLoops() {
        for (i, t) in Self.cases.enumerated() {
            let cg = t.x[1] / t.groups
            let x = randomTensor(t.x, seed: UInt64(100 + i)), w = randomTensor([t.o, cg, t.k.0, t.k.1], seed: UInt64(200 + i))
            let b = randomTensor([t.o], seed: UInt64(300 + i))
            for relu in [false, true] {
                let y = conv2d(x, weight: w, bias: b, stride: t.stride, padding: t.pad, groups: t.groups,
                               activation: relu ? .relu : .none)
                let ref = naiveConv(x, w, b, stride: t.stride, padding: t.pad, groups: t.groups, relu: relu)
                assertClose(y, ref.values, shape: ref.shape, tolerance: 1e-5, "\(t.label) relu \(relu)")
            }
            let y = conv2d(x, weight: w, bias: nil, stride: t.stride, padding: t.pad, groups: t.groups)
            let ref = naiveConv(x, w, nil, stride: t.stride, padding: t.pad, groups: t.groups)
            assertClose(y, ref.values, shape: ref.shape, tolerance: 1e-5, "\(t.label) no bias")
        }
    }

    /// A batch big enough for several tiles per image at an Inception shape (35x35, K = 288·9/…).
    func testForwardInceptionSizedLayer() {
        let x = randomTensor([3, 16, 35, 35], seed: 7), w = randomTensor([24, 16, 3, 3], seed: 8), b = randomTensor([24], seed: 9)
        let y = conv2d(x, weight: w, bias: b, padding: .same(1, 1), activation: .relu)
        let ref = naiveConv(x, w, b, stride: (1, 1), padding: .same(1, 1), groups: 1, relu: true)
        assertClose(y, ref.values, shape: ref.shape, tolerance: 1e-5, "35x35 16→24 3x3")
    }

    /// Winograd F(4×4, 3×3) against the Double loops: sizes that are and are not multiples of the
    /// 4×4 tile, symmetric, asymmetric and no padding, one image and several per chunk, channel
    /// counts of Inception layers. Tolerance 2e-5 of the output scale: the transforms scale values
    /// by up to 8 (output) and 4·5 (input), a few float32 roundings more than the direct sum.
    func testWinogradMatchesNaiveLoops() {
        let cases: [(x: [Int], o: Int, pad: Padding2D)] = [
            ([2, 3, 9, 8], 5, .same(1, 1)),
            ([1, 4, 8, 8], 3, .same(1, 1)),                                   // tiles exactly fill the output
            ([3, 5, 11, 13], 6, .zero),                                      // TF "VALID"
            ([2, 2, 6, 7], 3, Padding2D(top: 2, bottom: 0, left: 0, right: 3)), // asymmetric, pad ≥ kernel/2
            ([1, 32, 21, 19], 24, .zero),                                    // Conv2d_2a-like channel counts
            ([4, 64, 17, 17], 96, .same(1, 1)),                               // Mixed_5b-like, several images per chunk
            ([2, 8, 75, 30], 8, .same(1, 1)),                                // few channels: 128-tile chunks, 4 of them, the last short
            ([2, 1, 3, 3], 2, .zero),                                        // one output pixel
        ]
        for (i, t) in cases.enumerated() {
            let x = randomTensor(t.x, seed: UInt64(700 + i)), w = randomTensor([t.o, t.x[1], 3, 3], seed: UInt64(800 + i))
            let b = randomTensor([t.o], seed: UInt64(900 + i))
            let filter = Winograd3x3Filter(weight: w)
            for relu in [false, true] {
                let y = winogradConv3x3(x, filter: filter, bias: b, padding: t.pad, activation: relu ? .relu : .none)
                let ref = naiveConv(x, w, b, stride: (1, 1), padding: t.pad, groups: 1, relu: relu)
                assertClose(y, ref.values, shape: ref.shape, tolerance: 2e-5, "winograd x \(t.x) o \(t.o) \(t.pad) relu \(relu)")
            }
            let y = winogradConv3x3(x, filter: filter, bias: nil, padding: t.pad)
            let ref = naiveConv(x, w, nil, stride: (1, 1), padding: t.pad, groups: 1)
            assertClose(y, ref.values, shape: ref.shape, tolerance: 2e-5, "winograd x \(t.x) o \(t.o) \(t.pad) no bias")
        }
    }

    /// 1-D Winograd F(m, r) for 1×r and r×1 layers against the Double loops: Inception's 1×7/7×1
    /// (F(6, 7), as the network runs them, and F(4, 7)) and 1×3/3×1 (F(4, 3)) shapes, a 5-tap
    /// filter, sizes that do not fill the last tile, asymmetric padding. F(6, 7) interpolates at 12
    /// points, so its rounding is the largest: tolerance 5e-5 of the output scale (measured 5e-6).
    func testWinograd1DMatchesNaiveLoops() {
        let cases: [(x: [Int], o: Int, k: (Int, Int), pad: Padding2D, m: Int)] = [
            ([2, 5, 17, 17], 7, (1, 7), .same(0, 3), 6),
            ([2, 5, 17, 17], 7, (7, 1), .same(3, 0), 6),
            ([2, 160, 17, 17], 16, (1, 7), .same(0, 3), 6),   // Mixed_6c-like depth
            ([2, 5, 17, 17], 7, (1, 7), .same(0, 3), 4),
            ([1, 6, 9, 13], 4, (1, 5), .same(0, 2), 4),
            ([3, 4, 10, 6], 5, (7, 1), Padding2D(top: 1, bottom: 4, left: 2, right: 0), 4),
            ([2, 64, 8, 8], 48, (1, 3), .same(0, 1), 4),
            ([2, 64, 8, 8], 48, (3, 1), .same(1, 0), 4),
            ([1, 3, 5, 11], 2, (1, 7), .zero, 6),
        ]
        for (i, t) in cases.enumerated() {
            checkAgainstNaiveLoops(x: t.x, weight: [t.o, t.x[1], t.k.0, t.k.1], padding: t.pad, seed: UInt64(1000 + i), tolerance: 5e-5,
                                   "winograd F(\(t.m), \(max(t.k.0, t.k.1))) x \(t.x) o \(t.o) k \(t.k) \(t.pad)") { x, w, b, activation in
                winogradConv1D(x, filter: Winograd1DFilter(weight: w, outputsPerTile: t.m), bias: b, padding: t.pad, activation: activation)
            }
        }
    }

    /// `conv(x, weight, bias, activation)` with and without ReLU on seeded tensors, against the
    /// float64 loops.
    private func checkAgainstNaiveLoops(x shape: [Int], weight: [Int], padding: Padding2D, seed: UInt64, tolerance: Double,
                                        _ label: String, _ conv: (Tensor, Tensor, Tensor, Activation) -> Tensor,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let x = randomTensor(shape, seed: seed), w = randomTensor(weight, seed: seed + 100), b = randomTensor([weight[0]], seed: seed + 200)
        for relu in [false, true] {
            let y = conv(x, w, b, relu ? .relu : .none)
            let ref = naiveConv(x, w, b, stride: (1, 1), padding: padding, groups: 1, relu: relu)
            assertClose(y, ref.values, shape: ref.shape, tolerance: tolerance, label + " relu \(relu)", file: file, line: line)
        }
    }

    func testWinograd2DMatchesNaiveLoops() {
        let cases: [(x: [Int], o: Int, r: Int, pad: Padding2D, m: Int)] = [
            ([2, 5, 35, 35], 7, 3, .same(1, 1), 6),            // F(6x6, 3x3), Mixed_5b's dbl_2 map
            ([1, 96, 35, 35], 16, 3, .same(1, 1), 6),          // its depth
            ([2, 4, 13, 11], 5, 3, .zero, 6),                  // VALID, ragged edges
            ([2, 5, 35, 35], 7, 5, .same(2, 2), 4),            // F(4x4, 5x5), Mixed_5b's branch5x5_2
            ([1, 48, 35, 35], 16, 5, .same(2, 2), 4),
            ([3, 5, 35, 35], 7, 5, .same(2, 2), 4),            // two 128-tile chunks, the second short
            ([3, 3, 9, 14], 4, 5, Padding2D(top: 0, bottom: 3, left: 2, right: 1), 4),
            ([2, 6, 8, 8], 5, 3, .same(1, 1), 4),              // F(4x4, 3x3) through the generic path
            ([1, 2, 6, 7], 3, 2, .zero, 3),
        ]
        for (i, t) in cases.enumerated() {
            checkAgainstNaiveLoops(x: t.x, weight: [t.o, t.x[1], t.r, t.r], padding: t.pad, seed: UInt64(1300 + i), tolerance: 1e-4,
                                   "winograd F(\(t.m)x\(t.m), \(t.r)x\(t.r)) x \(t.x) o \(t.o) \(t.pad)") { x, w, b, activation in
                winogradConv2D(x, filter: Winograd2DFilter(weight: w, outputsPerTile: t.m), bias: b, padding: t.pad, activation: activation)
            }
        }
    }

    func testWinograd2DTileChoice() {
        XCTAssertEqual(Winograd2DFilter.bestTileOutputs(taps: 3, side: 147), 6)
        XCTAssertEqual(Winograd2DFilter.bestTileOutputs(taps: 3, side: 35), 6)
        XCTAssertEqual(Winograd2DFilter.bestTileOutputs(taps: 3, side: 8), 4)
        XCTAssertEqual(Winograd2DFilter.bestTileOutputs(taps: 5, side: 35), 4)
    }

    /// Every kernel that takes channel windows reads exactly the window's channels and writes only
    /// its own output channels: same values as on copies, the rest of the output left alone.
    func testChannelWindowsMatchCopies() {
        let source = randomTensor([2, 11, 12, 12], seed: 1600)
        let input = ChannelWindow(source, channels: 3..<9)
        let copy = input.copied()
        let w3 = randomTensor([5, 6, 3, 3], seed: 1601), w17 = randomTensor([5, 6, 1, 7], seed: 1602)
        let w5 = randomTensor([5, 6, 5, 5], seed: 1603), b = randomTensor([5], seed: 1604)
        let cases: [(String, [Int], Tensor, (ChannelWindow) -> Void)] = [
            ("conv2d 3x3/2", [2, 5, 5, 5], conv2d(copy, weight: w3, bias: b, stride: (2, 2), activation: .relu),
             { conv2d(input, weight: w3, bias: b, stride: (2, 2), activation: .relu, into: $0) }),
            ("winograd 3x3", [2, 5, 12, 12],
             winogradConv3x3(copy, filter: Winograd3x3Filter(weight: w3), bias: b, padding: .same(1, 1), activation: .relu),
             { winogradConv3x3(input, filter: Winograd3x3Filter(weight: w3), bias: b, padding: .same(1, 1), activation: .relu, into: $0) }),
            ("winograd 1x7", [2, 5, 12, 12],
             winogradConv1D(copy, filter: Winograd1DFilter(weight: w17, outputsPerTile: 6), bias: b, padding: .same(0, 3)),
             { winogradConv1D(input, filter: Winograd1DFilter(weight: w17, outputsPerTile: 6), bias: b, padding: .same(0, 3), into: $0) }),
            ("winograd 5x5", [2, 5, 12, 12],
             winogradConv2D(copy, filter: Winograd2DFilter(weight: w5, outputsPerTile: 4), bias: b, padding: .same(2, 2)),
             { winogradConv2D(input, filter: Winograd2DFilter(weight: w5, outputsPerTile: 4), bias: b, padding: .same(2, 2), into: $0) }),
        ]
        for (label, shape, expected, run) in cases {
            let big = Tensor(zeros: [shape[0], 9, shape[2], shape[3]])
            for i in 0..<big.count { big.data[i] = 7 }   // sentinel outside the window
            run(ChannelWindow(big, channels: 2..<7))
            XCTAssertEqual(ChannelWindow(big, channels: 2..<7).copied().array, expected.array, label)
            for window in [0..<2, 7..<9] {
                XCTAssertTrue(ChannelWindow(big, channels: window).copied().array.allSatisfy { $0 == 7 }, "\(label): wrote outside its window")
            }
        }
        XCTAssertTrue(ChannelWindow(source, channels: 0..<4).overlaps(input))
        XCTAssertFalse(ChannelWindow(source, channels: 9..<11).overlaps(input))
        XCTAssertFalse(ChannelWindow(copy, channels: 0..<6).overlaps(input), "another tensor")
        let pooled = Tensor(zeros: [2, 8, 5, 5])
        maxPool2d(copy, kernel: (3, 3), stride: (2, 2), into: ChannelWindow(pooled, channels: 1..<7))
        XCTAssertEqual(ChannelWindow(pooled, channels: 1..<7).copied().array, maxPool2d(copy, kernel: (3, 3), stride: (2, 2)).array)
    }

    func testBackwardMatchesNaiveAdjoint() {
        for (i, t) in Self.cases.enumerated() {
            let cg = t.x[1] / t.groups
            let x = randomTensor(t.x, seed: UInt64(400 + i)), w = randomTensor([t.o, cg, t.k.0, t.k.1], seed: UInt64(500 + i))
            let outShape = naiveConv(x, w, nil, stride: t.stride, padding: t.pad, groups: t.groups).shape
            let dy = randomTensor(outShape, seed: UInt64(600 + i))
            let g = conv2dBackward(dy, input: x, weight: w, stride: t.stride, padding: t.pad, groups: t.groups)
            let ref = naiveConvBackward(dy, x, w, stride: t.stride, padding: t.pad, groups: t.groups)
            assertClose(g.input!, ref.dx, shape: x.shape, tolerance: 1e-5, "\(t.label) grad input")
            assertClose(g.weight, ref.dw, shape: w.shape, tolerance: 1e-5, "\(t.label) grad weight")
            assertClose(g.bias!, ref.db, shape: [t.o], tolerance: 1e-5, "\(t.label) grad bias")
            let noInput = conv2dBackward(dy, input: x, weight: w, stride: t.stride, padding: t.pad, groups: t.groups,
                                         hasBias: false, needsInputGradient: false)
            XCTAssertNil(noInput.input); XCTAssertNil(noInput.bias)
            assertClose(noInput.weight, ref.dw, shape: w.shape, tolerance: 1e-5, "\(t.label) grad weight only")
        }
    }

    /// Independent of the adjoint loops: central differences of L = Σ conv(x)·dy, in float32 with
    /// step 1e-2 (L is linear in each argument, so only rounding remains: tolerance 2e-3 relative).
    func testBackwardMatchesFiniteDifferences() {
        for (x0, w0, stride, pad, groups) in [
            ([1, 2, 5, 6], [4, 2, 3, 3], (2, 1), Padding2D(top: 1, bottom: 0, left: 1, right: 2), 1),
            ([1, 3, 6, 6], [3, 1, 3, 3], (1, 1), Padding2D.same(1, 1), 3),
        ] {
            let x = randomTensor(x0, seed: 1), w = randomTensor(w0, seed: 2), b = randomTensor([w0[0]], seed: 3)
            let y = conv2d(x, weight: w, bias: b, stride: stride, padding: pad, groups: groups)
            let dy = randomTensor(y.shape, seed: 4)
            let g = conv2dBackward(dy, input: x, weight: w, stride: stride, padding: pad, groups: groups)
            func loss() -> Double {
                let y = conv2d(x, weight: w, bias: b, stride: stride, padding: pad, groups: groups)
                return zip(y.array, dy.array).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            for (param, grad, name) in [(x, g.input!, "input"), (w, g.weight, "weight"), (b, g.bias!, "bias")] {
                var numeric = [Double](), analytic = [Float]()
                for j in Swift.stride(from: 0, to: param.count, by: max(1, param.count / 17)) {
                    let keep = param.data[j], h: Float = 1e-2
                    param.data[j] = keep + h; let up = loss()
                    param.data[j] = keep - h; let down = loss()
                    param.data[j] = keep
                    numeric.append((up - down) / (2 * Double(h))); analytic.append(grad.data[j])
                }
                let err = relativeError(analytic, numeric)
                XCTAssertLessThan(err, 2e-3, "finite differences, grad \(name), x \(x0) w \(w0) groups \(groups)")
            }
        }
    }

    func testOutputShapeAndPaddingHelpers() {
        XCTAssertEqual(Padding2D.same(1, 3), Padding2D(top: 1, bottom: 1, left: 3, right: 3))
        let (oh, ow) = Padding2D.zero.outputSize(height: 299, width: 299, kernel: (3, 3), stride: (2, 2))
        XCTAssertEqual(oh, 149); XCTAssertEqual(ow, 149)  // Inception's first layer
        let y = conv2d(Tensor(zeros: [1, 3, 299, 299]), weight: Tensor(zeros: [32, 3, 3, 3]), bias: nil, stride: (2, 2))
        XCTAssertEqual(y.shape, [1, 32, 149, 149])
    }
}
