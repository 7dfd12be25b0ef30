import Foundation
import TensorCore
import TensorIO

/// The FID Inception-v3: the 2015-12-05 TensorFlow graph (`pool_3:0`) that the ADM evaluator,
/// pytorch-fid and clean-fid all use, NCHW on the tensor core.
///
/// Where it differs from the textbook (torchvision) Inception-v3, it follows the TF graph:
/// - every convolution is followed by batch norm without a scale (gamma) and eps 0.001, then
///   ReLU; the batch norm is folded into the convolution at load time (one pass less per layer);
/// - the pool branches of Mixed_5b–5d, 6b–6e and 7b average with `count_include_pad = false`
///   (TF's AVG pool divides by the real inputs in the window), and Mixed_7c's pool branch is a
///   MAX pool — a quirk of the 2015 graph that pytorch-fid reproduces as `FIDInceptionE_2`;
/// - the head ends at the 8×8 average pool (pool3, 2048 values); the 1008-way classifier that
///   the Inception Score needs (`fc`, no bias in the ADM evaluator) is kept as a matrix only.
///
/// Layer names are torchvision's (`Mixed_6d.branch1x1`), the keys of pytorch-fid's state dict.
public final class InceptionV3 {
    public static let poolDimension = 2048
    /// Mixed_6d.branch1x1 (TF `mixed_6/conv`) is 17×17×192; sFID uses its first 7 channels.
    public static let spatialSide = 17, spatialChannels = 7
    public static let spatialDimension = spatialSide * spatialSide * spatialChannels  // 2023

    let Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3: ConvBNReLU
    let Mixed_5b, Mixed_5c, Mixed_5d: InceptionA
    let Mixed_6a: InceptionB
    let Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e: InceptionC
    let Mixed_7a: InceptionD
    let Mixed_7b, Mixed_7c: InceptionE

    /// fc: (1008, 2048), when the weights carry the classifier (pytorch-fid's .pth does; the
    /// TorchScript `default_1.pt` ends at pool3).
    public let fcWeight: Tensor?
    public let fcBias: Tensor?

    public init(weights w: InceptionWeights) throws {
        Conv2d_1a_3x3 = try ConvBNReLU(w, "Conv2d_1a_3x3", kernel: (3, 3), stride: 2, padded: false)  // 299 → 149
        Conv2d_2a_3x3 = try ConvBNReLU(w, "Conv2d_2a_3x3", kernel: (3, 3), padded: false)             // → 147
        Conv2d_2b_3x3 = try ConvBNReLU(w, "Conv2d_2b_3x3", kernel: (3, 3))                            // → 147, then max pool → 73
        Conv2d_3b_1x1 = try ConvBNReLU(w, "Conv2d_3b_1x1", kernel: (1, 1))
        Conv2d_4a_3x3 = try ConvBNReLU(w, "Conv2d_4a_3x3", kernel: (3, 3), padded: false)             // → 71, then max pool → 35
        Mixed_5b = try InceptionA(w, "Mixed_5b")  // 35×35×256
        Mixed_5c = try InceptionA(w, "Mixed_5c")  // 35×35×288
        Mixed_5d = try InceptionA(w, "Mixed_5d")  // 35×35×288
        Mixed_6a = try InceptionB(w, "Mixed_6a")  // 17×17×768
        Mixed_6b = try InceptionC(w, "Mixed_6b")
        Mixed_6c = try InceptionC(w, "Mixed_6c")
        Mixed_6d = try InceptionC(w, "Mixed_6d")
        Mixed_6e = try InceptionC(w, "Mixed_6e")
        Mixed_7a = try InceptionD(w, "Mixed_7a")  // 8×8×1280
        Mixed_7b = try InceptionE(w, "Mixed_7b", pool: .average)  // 8×8×2048
        Mixed_7c = try InceptionE(w, "Mixed_7c", pool: .max)      // TF graph quirk, see above
        if let fc = w.tensors["fc.weight"] {
            guard fc.shape == [1008, InceptionV3.poolDimension] || (fc.rank == 2 && fc.shape[1] == InceptionV3.poolDimension) else {
                throw FormatError(file: w.source, field: "fc.weight", expected: "(classes, 2048), 1008 classes for the FID Inception",
                                  found: "\(fc.shape)")
            }
            fcWeight = fc
            fcBias = w.tensors["fc.bias"]
        } else {
            fcWeight = nil; fcBias = nil
        }
    }

    /// The two feature maps FID and sFID read.
    public struct Output {
        /// (N, 2048): pool3, the 8×8 average of Mixed_7c.
        public var pool: Tensor
        /// (N, 2023): Mixed_6d.branch1x1's first 7 channels, flattened in H, W, C order (ADM's sFID layout).
        public var spatial: Tensor
    }

    /// x: (N, 3, 299, 299), values in [-1, 1] (see `inceptionInput`) → pool3 and spatial features.
    /// `stageTimer`, when given, hears each stage's name and wall time (`bench inception --stages`).
    public func forward(_ x: Tensor, stageTimer: ((String, TimeInterval) -> Void)? = nil) -> Output {
        precondition(x.rank == 4 && x.shape[1] == 3 && x.shape[2] == 299 && x.shape[3] == 299,
                     "InceptionV3.forward: input must be (N, 3, 299, 299), got \(x.shape)")
        let n = x.shape[0]
        var clock = Date()
        func stage<T>(_ name: String, _ work: () -> T) -> T {
            guard let stageTimer else { return work() }
            let result = work(), now = Date()
            stageTimer(name, now.timeIntervalSince(clock))
            clock = now
            return result
        }
        var h = stage("Conv2d_1a_3x3 (3x3/2)") { Conv2d_1a_3x3(x) }
        h = stage("Conv2d_2a_3x3") { Conv2d_2a_3x3(h) }
        h = stage("Conv2d_2b_3x3") { Conv2d_2b_3x3(h) }
        h = stage("max pool 147→73") { maxPool2d(h, kernel: (3, 3), stride: (2, 2)) }
        h = stage("Conv2d_3b_1x1") { Conv2d_3b_1x1(h) }
        h = stage("Conv2d_4a_3x3") { Conv2d_4a_3x3(h) }
        h = stage("max pool 71→35") { maxPool2d(h, kernel: (3, 3), stride: (2, 2)) }
        h = stage("Mixed_5b") { Mixed_5b(h) }
        h = stage("Mixed_5c") { Mixed_5c(h) }
        h = stage("Mixed_5d") { Mixed_5d(h) }
        h = stage("Mixed_6a") { Mixed_6a(h) }
        h = stage("Mixed_6b") { Mixed_6b(h) }
        h = stage("Mixed_6c") { Mixed_6c(h) }
        let (mixed6d, branch1x1) = stage("Mixed_6d") { Mixed_6d.forwardKeepingBranch1x1(h) }
        h = stage("Mixed_6e") { Mixed_6e(mixed6d) }
        h = stage("Mixed_7a") { Mixed_7a(h) }
        h = stage("Mixed_7b") { Mixed_7b(h) }
        h = stage("Mixed_7c") { Mixed_7c(h) }
        return stage("pool3 + spatial") {
            let pool = avgPool2d(h, kernel: (8, 8), stride: (8, 8), countIncludePad: true).reshaped([n, InceptionV3.poolDimension])
            return Output(pool: pool, spatial: InceptionV3.spatialFeatures(branch1x1))
        }
    }

    /// (N, 192, 17, 17) → (N, 17·17·7): channels 0..<7, in H, W, C order.
    static func spatialFeatures(_ map: ChannelWindow) -> Tensor {
        let n = map.batch, hw = map.height * map.width, k = spatialChannels
        precondition(map.height == spatialSide && map.width == spatialSide && map.count >= k,
                     "spatial features need (N, ≥7, 17, 17), got \(map.shape)")
        let out = Tensor(uninitialized: [n, hw * k])
        for i in 0..<n {
            let src = map.base + i * map.imageStride, dst = out.data + i * hw * k
            for p in 0..<hw { for ch in 0..<k { dst[p * k + ch] = src[ch * hw + p] } }
        }
        return out
    }
}

// MARK: - Layers

/// Convolution + batch norm (folded) + ReLU: TF's `conv` op with its `batchnorm` and `relu`.
struct ConvBNReLU {
    /// (O, C, KH, KW), scaled by the batch norm
    let weight: Tensor
    /// (O): the batch norm's shift
    let bias: Tensor
    let stride: Int
    let padding: Padding2D
    /// The weight transformed for Winograd's minimal filtering, for the stride-1 3×3 layers (36% of
    /// the network's multiply-adds; F(4×4, 3×3), ~2.3× faster than im2col + sgemm), the 1×7, 7×1,
    /// 1×3 and 3×1 ones (30%; F(6, 7) and F(4, 3), ~1.5–2×) and Mixed_5b–5d's 5×5 ones (5%;
    /// F(4×4, 5×5), ~1.6×). nil: im2col + sgemm. (F(6×6, 3×3) through the generic kernel was
    /// slower than the hand-coded F(4×4, 3×3) on every Inception map: its 8×8 transforms cost
    /// more than the 21% of multiplies it saves.)
    let winograd: WinogradFilter?

    enum WinogradFilter {
        case square(Winograd3x3Filter)   // F(4×4, 3×3), hand-coded transforms
        case line(Winograd1DFilter)
        case grid(Winograd2DFilter)      // F(m×m, r×r), generic transforms
    }

    /// padded: TF "SAME" for a stride-1 conv ((k−1)/2 on each side); false: "VALID".
    init(_ w: InceptionWeights, _ name: String, kernel: (Int, Int), stride: Int = 1, padded: Bool = true) throws {
        (weight, bias) = try w.conv(name)
        guard weight.shape[2] == kernel.0 && weight.shape[3] == kernel.1 else {
            throw FormatError(file: w.source, field: name + ".weight", expected: "a \(kernel.0)x\(kernel.1) kernel",
                              found: "shape \(weight.shape)")
        }
        self.stride = stride
        padding = padded ? .same((kernel.0 - 1) / 2, (kernel.1 - 1) / 2) : .zero
        winograd = stride != 1 ? nil
            : kernel == (3, 3) ? .square(Winograd3x3Filter(weight: weight))
            : kernel == (5, 5) ? .grid(Winograd2DFilter(weight: weight, outputsPerTile: Winograd2DFilter.bestTileOutputs(taps: 5, side: 35)))
            : (kernel.0 == 1) != (kernel.1 == 1) ? .line(Winograd1DFilter(weight: weight, outputsPerTile: Self.tileOutputs(taps: max(kernel.0, kernel.1)))) : nil
    }

    /// m of F(m, r) for Inception's line filters, from the maps they run on: the 7-tap ones on
    /// 17×17 (→ F(6, 7): 3 tiles × 12 multiplies per row against F(4, 7)'s 5 × 10), the 3-tap
    /// ones on 8×8 (→ F(4, 3): 2 × 6, against F(6, 3)'s 2 × 8).
    static func tileOutputs(taps: Int) -> Int { Winograd1DFilter.bestTileOutputs(taps: taps, length: taps >= 7 ? 17 : 8) }

    var outputChannels: Int { weight.shape[0] }

    func callAsFunction(_ x: Tensor) -> Tensor { self(ChannelWindow(x)) }

    /// The output's (height, width) for an input map height × width.
    func outputSize(height: Int, width: Int) -> (Int, Int) {
        padding.outputSize(height: height, width: width, kernel: (weight.shape[2], weight.shape[3]), stride: (stride, stride))
    }

    func callAsFunction(_ x: ChannelWindow) -> Tensor {
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let y = Tensor(uninitialized: [x.batch, outputChannels, oh, ow])
        self(x, into: ChannelWindow(y))
        return y
    }

    /// Reads and writes parts of larger tensors: a branch's slice of a shared 1×1 output, its
    /// slice of the block's output (no split or concat copies).
    func callAsFunction(_ x: ChannelWindow, into y: ChannelWindow) {
        switch winograd {
        case .square(let filter)?: winogradConv3x3(x, filter: filter, bias: bias, padding: padding, activation: .relu, into: y)
        case .line(let filter)?: winogradConv1D(x, filter: filter, bias: bias, padding: padding, activation: .relu, into: y)
        case .grid(let filter)?: winogradConv2D(x, filter: filter, bias: bias, padding: padding, activation: .relu, into: y)
        case nil: conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: padding, activation: .relu, into: y)
        }
    }
}

/// A block's output, handed out to its branches as consecutive channel windows in the order
/// TF concatenates them.
struct BlockOutput {
    let tensor: Tensor
    private var used = 0

    init(batch: Int, channels: Int, height: Int, width: Int) {
        tensor = Tensor(uninitialized: [batch, channels, height, width])
    }

    /// The next `count` channels.
    mutating func take(_ count: Int) -> ChannelWindow {
        defer { used += count }
        return ChannelWindow(tensor, channels: used..<(used + count))
    }

    /// The filled tensor; every channel must have been handed out.
    var filled: Tensor {
        precondition(used == tensor.shape[1], "BlockOutput: \(used) of \(tensor.shape[1]) channels written")
        return tensor
    }
}

/// Several 1×1 convolutions that read the same input, run as one convolution with their output
/// channels stacked (one GEMM with a taller weight matrix instead of one pass over the input per
/// branch), then split. Each output channel is still its own dot product, so results are unchanged.
struct SharedInputPointwise {
    let fused: ConvBNReLU
    let sizes: [Int]

    init(_ layers: [ConvBNReLU]) {
        let c = layers[0].weight.shape[1]
        sizes = layers.map { $0.weight.shape[0] }
        fused = ConvBNReLU(weight: concat(layers.map { $0.weight.reshaped([$0.weight.shape[0], c]) }, axis: 0)
                               .reshaped([sizes.reduce(0, +), c, 1, 1]),
                           bias: concat(layers.map(\.bias), axis: 0))
    }

    /// Each layer's output, as a window of the fused output.
    func callAsFunction(_ x: Tensor) -> [ChannelWindow] {
        let y = fused(x)
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return ChannelWindow(y, channels: start..<(start + size))
        }
    }
}

extension ConvBNReLU {
    /// A 1×1, stride-1 layer from weights already folded.
    init(weight: Tensor, bias: Tensor) {
        self.weight = weight; self.bias = bias; stride = 1; padding = .zero; winograd = nil
    }
}

/// TF's AVG pool branch: 3×3, stride 1, padding 1, dividing by the real inputs in each window
/// (= `avgPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1), countIncludePad: false)`).
///
///     x: (N, C, H, W) → (N, C, H, W)
/// Computed separably (3-wide row sums, then 3-tall sums of those): the generic pooling loop took
/// ~5% of the network's time for this one shape.
public func averagePool3x3(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "averagePool3x3: input must be (N, C, H, W), got \(x.shape)")
    let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    let y = Tensor(uninitialized: x.shape)
    guard h > 0 && w > 0 else { return y }
    // 1 / (valid rows · valid columns) per output position: only the border rows/columns see 2
    var inverseCount = [Float](repeating: 0, count: h * w)
    for r in 0..<h {
        for c in 0..<w {
            let rows = min(r + 1, h - 1) - max(r - 1, 0) + 1, cols = min(c + 1, w - 1) - max(c - 1, 0) + 1
            inverseCount[r * w + c] = 1 / Float(rows * cols)
        }
    }
    let xs = x.data, ys = y.data
    inverseCount.withUnsafeBufferPointer { inv in
        let scale = UncheckedSendable(inv.baseAddress!)
        parallelChunks(planes, minChunk: max(1, 8192 / (h * w))) { range in
            var rowSums = [Float](repeating: 0, count: h * w)
            rowSums.withUnsafeMutableBufferPointer { rs in
                let t = rs.baseAddress!
                for plane in range {
                    let src = xs + plane * h * w, dst = ys + plane * h * w
                    for r in 0..<h {
                        let i = src + r * w, o = t + r * w
                        if w == 1 { o[0] = i[0]; continue }
                        o[0] = i[0] + i[1]
                        if w > 2 { for c in 1..<(w - 1) { o[c] = i[c - 1] + i[c] + i[c + 1] } }
                        o[w - 1] = i[w - 2] + i[w - 1]
                    }
                    for r in 0..<h {
                        let up = t + max(r - 1, 0) * w, mid = t + r * w, down = t + min(r + 1, h - 1) * w
                        let o = dst + r * w, k = scale.value + r * w
                        if r == 0 || r == h - 1 {
                            let other = r == 0 ? down : up
                            if h == 1 { for c in 0..<w { o[c] = mid[c] * k[c] } }
                            else { for c in 0..<w { o[c] = (mid[c] + other[c]) * k[c] } }
                        } else {
                            for c in 0..<w { o[c] = (up[c] + mid[c] + down[c]) * k[c] }
                        }
                    }
                }
            }
        }
    }
    return y
}

/// 35×35 block (Mixed_5b–5d): 1x1 | 1x1→5x5 | 1x1→3x3→3x3 | avg pool→1x1.
struct InceptionA {
    let branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool: ConvBNReLU
    let pointwise: SharedInputPointwise

    init(_ w: InceptionWeights, _ p: String) throws {
        branch1x1 = try ConvBNReLU(w, p + ".branch1x1", kernel: (1, 1))
        branch5x5_1 = try ConvBNReLU(w, p + ".branch5x5_1", kernel: (1, 1))
        branch5x5_2 = try ConvBNReLU(w, p + ".branch5x5_2", kernel: (5, 5))
        branch3x3dbl_1 = try ConvBNReLU(w, p + ".branch3x3dbl_1", kernel: (1, 1))
        branch3x3dbl_2 = try ConvBNReLU(w, p + ".branch3x3dbl_2", kernel: (3, 3))
        branch3x3dbl_3 = try ConvBNReLU(w, p + ".branch3x3dbl_3", kernel: (3, 3))
        branch_pool = try ConvBNReLU(w, p + ".branch_pool", kernel: (1, 1))
        pointwise = SharedInputPointwise([branch1x1, branch5x5_1, branch3x3dbl_1])
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let p = pointwise(x)   // branch1x1, branch5x5_1, branch3x3dbl_1
        var out = BlockOutput(batch: x.shape[0], channels: p[0].count + branch5x5_2.outputChannels
                                  + branch3x3dbl_3.outputChannels + branch_pool.outputChannels,
                              height: x.shape[2], width: x.shape[3])
        out.take(p[0].count).copy(from: p[0])
        branch5x5_2(p[1], into: out.take(branch5x5_2.outputChannels))
        branch3x3dbl_3(ChannelWindow(branch3x3dbl_2(p[2])), into: out.take(branch3x3dbl_3.outputChannels))
        branch_pool(ChannelWindow(averagePool3x3(x)), into: out.take(branch_pool.outputChannels))
        return out.filled
    }
}

/// 35 → 17 reduction (Mixed_6a): 3x3 stride 2 | 1x1→3x3→3x3 stride 2 | max pool stride 2.
struct InceptionB {
    let branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3: ConvBNReLU

    init(_ w: InceptionWeights, _ p: String) throws {
        branch3x3 = try ConvBNReLU(w, p + ".branch3x3", kernel: (3, 3), stride: 2, padded: false)
        branch3x3dbl_1 = try ConvBNReLU(w, p + ".branch3x3dbl_1", kernel: (1, 1))
        branch3x3dbl_2 = try ConvBNReLU(w, p + ".branch3x3dbl_2", kernel: (3, 3))
        branch3x3dbl_3 = try ConvBNReLU(w, p + ".branch3x3dbl_3", kernel: (3, 3), stride: 2, padded: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (oh, ow) = branch3x3.outputSize(height: x.shape[2], width: x.shape[3])   // 35 → 17, as the max pool
        var out = BlockOutput(batch: x.shape[0], channels: branch3x3.outputChannels + branch3x3dbl_3.outputChannels + x.shape[1],
                              height: oh, width: ow)
        branch3x3(ChannelWindow(x), into: out.take(branch3x3.outputChannels))
        branch3x3dbl_3(ChannelWindow(branch3x3dbl_2(branch3x3dbl_1(x))), into: out.take(branch3x3dbl_3.outputChannels))
        maxPool2d(x, kernel: (3, 3), stride: (2, 2), into: out.take(x.shape[1]))
        return out.filled
    }
}

/// 17×17 block (Mixed_6b–6e): 1x1 | 1x1→1x7→7x1 | 1x1→7x1→1x7→7x1→1x7 | avg pool→1x1.
struct InceptionC {
    let branch1x1, branch7x7_1, branch7x7_2, branch7x7_3: ConvBNReLU
    let branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool: ConvBNReLU
    let pointwise: SharedInputPointwise

    init(_ w: InceptionWeights, _ p: String) throws {
        branch1x1 = try ConvBNReLU(w, p + ".branch1x1", kernel: (1, 1))
        branch7x7_1 = try ConvBNReLU(w, p + ".branch7x7_1", kernel: (1, 1))
        branch7x7_2 = try ConvBNReLU(w, p + ".branch7x7_2", kernel: (1, 7))
        branch7x7_3 = try ConvBNReLU(w, p + ".branch7x7_3", kernel: (7, 1))
        branch7x7dbl_1 = try ConvBNReLU(w, p + ".branch7x7dbl_1", kernel: (1, 1))
        branch7x7dbl_2 = try ConvBNReLU(w, p + ".branch7x7dbl_2", kernel: (7, 1))
        branch7x7dbl_3 = try ConvBNReLU(w, p + ".branch7x7dbl_3", kernel: (1, 7))
        branch7x7dbl_4 = try ConvBNReLU(w, p + ".branch7x7dbl_4", kernel: (7, 1))
        branch7x7dbl_5 = try ConvBNReLU(w, p + ".branch7x7dbl_5", kernel: (1, 7))
        branch_pool = try ConvBNReLU(w, p + ".branch_pool", kernel: (1, 1))
        pointwise = SharedInputPointwise([branch1x1, branch7x7_1, branch7x7dbl_1])
    }

    func callAsFunction(_ x: Tensor) -> Tensor { forwardKeepingBranch1x1(x).output }

    /// Also hands back branch1x1's output: Mixed_6d's is the map sFID reads (TF `mixed_6/conv`).
    func forwardKeepingBranch1x1(_ x: Tensor) -> (output: Tensor, branch1x1: ChannelWindow) {
        let p = pointwise(x)   // branch1x1, branch7x7_1, branch7x7dbl_1
        var out = BlockOutput(batch: x.shape[0], channels: p[0].count + branch7x7_3.outputChannels
                                  + branch7x7dbl_5.outputChannels + branch_pool.outputChannels,
                              height: x.shape[2], width: x.shape[3])
        out.take(p[0].count).copy(from: p[0])
        branch7x7_3(ChannelWindow(branch7x7_2(p[1])), into: out.take(branch7x7_3.outputChannels))
        let d = branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(p[2])))
        branch7x7dbl_5(ChannelWindow(d), into: out.take(branch7x7dbl_5.outputChannels))
        branch_pool(ChannelWindow(averagePool3x3(x)), into: out.take(branch_pool.outputChannels))
        return (out.filled, p[0])
    }
}

/// 17 → 8 reduction (Mixed_7a): 1x1→3x3 stride 2 | 1x1→1x7→7x1→3x3 stride 2 | max pool stride 2.
struct InceptionD {
    let branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4: ConvBNReLU
    let pointwise: SharedInputPointwise

    init(_ w: InceptionWeights, _ p: String) throws {
        branch3x3_1 = try ConvBNReLU(w, p + ".branch3x3_1", kernel: (1, 1))
        branch3x3_2 = try ConvBNReLU(w, p + ".branch3x3_2", kernel: (3, 3), stride: 2, padded: false)
        branch7x7x3_1 = try ConvBNReLU(w, p + ".branch7x7x3_1", kernel: (1, 1))
        branch7x7x3_2 = try ConvBNReLU(w, p + ".branch7x7x3_2", kernel: (1, 7))
        branch7x7x3_3 = try ConvBNReLU(w, p + ".branch7x7x3_3", kernel: (7, 1))
        branch7x7x3_4 = try ConvBNReLU(w, p + ".branch7x7x3_4", kernel: (3, 3), stride: 2, padded: false)
        pointwise = SharedInputPointwise([branch3x3_1, branch7x7x3_1])
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let p = pointwise(x)   // branch3x3_1, branch7x7x3_1
        let (oh, ow) = branch3x3_2.outputSize(height: x.shape[2], width: x.shape[3])   // 17 → 8, as the max pool
        var out = BlockOutput(batch: x.shape[0], channels: branch3x3_2.outputChannels + branch7x7x3_4.outputChannels + x.shape[1],
                              height: oh, width: ow)
        branch3x3_2(p[0], into: out.take(branch3x3_2.outputChannels))
        branch7x7x3_4(ChannelWindow(branch7x7x3_3(branch7x7x3_2(p[1]))), into: out.take(branch7x7x3_4.outputChannels))
        maxPool2d(x, kernel: (3, 3), stride: (2, 2), into: out.take(x.shape[1]))
        return out.filled
    }
}

/// 8×8 block (Mixed_7b, 7c): 1x1 | 1x1→(1x3 | 3x1) | 1x1→3x3→(1x3 | 3x1) | pool→1x1.
struct InceptionE {
    enum Pool { case average, max }
    let branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b: ConvBNReLU
    let branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool: ConvBNReLU
    let pool: Pool
    let pointwise: SharedInputPointwise

    init(_ w: InceptionWeights, _ p: String, pool: Pool) throws {
        branch1x1 = try ConvBNReLU(w, p + ".branch1x1", kernel: (1, 1))
        branch3x3_1 = try ConvBNReLU(w, p + ".branch3x3_1", kernel: (1, 1))
        branch3x3_2a = try ConvBNReLU(w, p + ".branch3x3_2a", kernel: (1, 3))
        branch3x3_2b = try ConvBNReLU(w, p + ".branch3x3_2b", kernel: (3, 1))
        branch3x3dbl_1 = try ConvBNReLU(w, p + ".branch3x3dbl_1", kernel: (1, 1))
        branch3x3dbl_2 = try ConvBNReLU(w, p + ".branch3x3dbl_2", kernel: (3, 3))
        branch3x3dbl_3a = try ConvBNReLU(w, p + ".branch3x3dbl_3a", kernel: (1, 3))
        branch3x3dbl_3b = try ConvBNReLU(w, p + ".branch3x3dbl_3b", kernel: (3, 1))
        branch_pool = try ConvBNReLU(w, p + ".branch_pool", kernel: (1, 1))
        self.pool = pool
        pointwise = SharedInputPointwise([branch1x1, branch3x3_1, branch3x3dbl_1])
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let p = pointwise(x)   // branch1x1, branch3x3_1, branch3x3dbl_1
        let tails = [branch3x3_2a, branch3x3_2b, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool]
        var out = BlockOutput(batch: x.shape[0], channels: tails.reduce(p[0].count) { $0 + $1.outputChannels },
                              height: x.shape[2], width: x.shape[3])
        out.take(p[0].count).copy(from: p[0])
        branch3x3_2a(p[1], into: out.take(branch3x3_2a.outputChannels))
        branch3x3_2b(p[1], into: out.take(branch3x3_2b.outputChannels))
        let d = ChannelWindow(branch3x3dbl_2(p[2]))
        branch3x3dbl_3a(d, into: out.take(branch3x3dbl_3a.outputChannels))
        branch3x3dbl_3b(d, into: out.take(branch3x3dbl_3b.outputChannels))
        let pooled = pool == .average ? averagePool3x3(x)
                                      : maxPool2d(x, kernel: (3, 3), stride: (1, 1), padding: .same(1, 1))
        branch_pool(ChannelWindow(pooled), into: out.take(branch_pool.outputChannels))
        return out.filled
    }
}
