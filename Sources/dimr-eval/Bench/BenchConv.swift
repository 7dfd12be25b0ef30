import ArgumentParser
import Foundation
import TensorCore
import TensorIO

/// conv2d GFLOP/s on typical layers, quoted as a fraction of the machine's sgemm rate
/// (a conv layer built on GEMM can at best match it).
struct BenchConv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "conv2d GFLOP/s on a 3x3 layer and Inception layers, as a ratio to the machine's sgemm rate.")

    @Option(help: "Batch size.") var batch = 16
    @Option(help: "Timed runs per layer (the best is reported).") var repeats = 3
    @Option(help: "Size n of the n³ sgemm that sets the machine's rate.") var sgemmSize = 2048
    @Flag(help: "Also time conv2dBackward (input, weight and bias gradients: twice the forward's FLOPs).")
    var backward = false
    @Option(help: "Only the layers whose name contains this text (e.g. 1x7).") var only: String?
    @Flag(help: "Print JSON.") var json = false

    struct Layer {
        var name: String
        var channels: Int, height: Int, width: Int
        var outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1)
        var padding: Padding2D = .zero
        var groups = 1
    }

    /// The 3x3 layer the target is stated for, then Inception-v3 layers and a ConvNeXt depthwise one.
    static let layers: [Layer] = [
        Layer(name: "3x3 64→64 56x56", channels: 64, height: 56, width: 56, outChannels: 64, kernel: (3, 3), padding: .same(1, 1)),
        Layer(name: "Inception 3x3 32→64 147x147", channels: 32, height: 147, width: 147, outChannels: 64, kernel: (3, 3), padding: .same(1, 1)),
        Layer(name: "Inception 3x3 80→192 73x73", channels: 80, height: 73, width: 73, outChannels: 192, kernel: (3, 3)),
        Layer(name: "Inception 3x3 96→96 35x35", channels: 96, height: 35, width: 35, outChannels: 96, kernel: (3, 3), padding: .same(1, 1)),
        Layer(name: "Inception 5x5 48→64 35x35", channels: 48, height: 35, width: 35, outChannels: 64, kernel: (5, 5), padding: .same(2, 2)),
        Layer(name: "Inception 3x3/2 288→384 35x35", channels: 288, height: 35, width: 35, outChannels: 384, kernel: (3, 3), stride: (2, 2)),
        Layer(name: "Inception 1x1 288→64 35x35", channels: 288, height: 35, width: 35, outChannels: 64, kernel: (1, 1)),
        Layer(name: "Inception 1x7 768→192 17x17", channels: 768, height: 17, width: 17, outChannels: 192, kernel: (1, 7), padding: .same(0, 3)),
        Layer(name: "Inception 7x1 160→160 17x17", channels: 160, height: 17, width: 17, outChannels: 160, kernel: (7, 1), padding: .same(3, 0)),
        Layer(name: "Inception 1x3 384→384 8x8", channels: 384, height: 8, width: 8, outChannels: 384, kernel: (1, 3), padding: .same(0, 1)),
        Layer(name: "Inception 3x3 448→384 8x8", channels: 448, height: 8, width: 8, outChannels: 384, kernel: (3, 3), padding: .same(1, 1)),
        Layer(name: "ConvNeXt dw 7x7 96 56x56", channels: 96, height: 56, width: 56, outChannels: 96, kernel: (7, 7), padding: .same(3, 3), groups: 96),
    ]

    struct Row: Codable {
        var name: String
        /// "im2col+sgemm", "depthwise" or "winograd F(4x4,3x3)" (or F(m, r), F(mxm, rxr)); Winograd's GFLOP/s count the
        /// direct convolution's multiply-adds (its effective rate), so the ratio can exceed 1.
        var method: String
        var input: [Int]
        var weight: [Int]
        var output: [Int]
        var seconds: Double
        var gflops: Double
        var ratioToSgemm: Double
        var backwardSeconds: Double?
        var backwardGflops: Double?
    }

    struct Report: Codable {
        var blas: BenchBLAS
        var sgemmSize: Int
        var sgemmGflops: Double
        var layers: [Row]
    }

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive, got \(repeats)") }
        guard sgemmSize > 0 else { throw ValidationError("--sgemm-size must be positive, got \(sgemmSize)") }
    }

    func run() throws {
        let blas = try BenchBLAS.current()
        // The machine's rate is measured before and after the layers and the better one kept, so a
        // busy spell on a shared machine during one sgemm measurement cannot flatter the ratios.
        let before = squareSgemmRate(n: sgemmSize, repeats: repeats)
        var rows: [Row] = []
        for (i, layer) in Self.layers.enumerated() where only.map({ layer.name.contains($0) }) ?? true {
            let x = benchTensor([batch, layer.channels, layer.height, layer.width], seed: UInt64(10 + i))
            let w = benchTensor([layer.outChannels, layer.channels / layer.groups, layer.kernel.0, layer.kernel.1], seed: UInt64(30 + i))
            let b = benchTensor([layer.outChannels], seed: UInt64(50 + i))
            var y: Tensor? = nil
            let seconds = bestSeconds(repeats: repeats, warmup: 1) {
                y = conv2d(x, weight: w, bias: b, stride: layer.stride, padding: layer.padding, groups: layer.groups,
                           activation: .relu)
            }
            let out = y!.shape
            // multiply-adds of the convolution proper (bias and ReLU not counted)
            let flops = 2.0 * Double(out.reduce(1, *)) * Double(w.shape[1] * w.shape[2] * w.shape[3])
            let gflops = flops / seconds / 1e9
            var row = Row(name: layer.name, method: layer.groups > 1 ? "depthwise" : "im2col+sgemm", input: x.shape,
                          weight: w.shape, output: out, seconds: seconds, gflops: gflops, ratioToSgemm: 0)
            if backward {
                let dy = benchTensor(out, seed: UInt64(70 + i))
                let back = bestSeconds(repeats: repeats, warmup: 1) {
                    _ = conv2dBackward(dy, input: x, weight: w, stride: layer.stride, padding: layer.padding,
                                       groups: layer.groups)
                }
                row.backwardSeconds = back
                row.backwardGflops = 2 * flops / back / 1e9
            }
            rows.append(row)
            guard layer.stride == (1, 1) && layer.groups == 1 else { continue }
            if layer.kernel == (3, 3) {
                let filter = Winograd3x3Filter(weight: w)
                let s = bestSeconds(repeats: repeats, warmup: 1) {
                    _ = winogradConv3x3(x, filter: filter, bias: b, padding: layer.padding, activation: .relu)
                }
                rows.append(Row(name: layer.name + " Winograd", method: "winograd F(4x4,3x3)", input: x.shape,
                                weight: w.shape, output: out, seconds: s, gflops: flops / s / 1e9, ratioToSgemm: 0))
            }
            if layer.kernel.0 == layer.kernel.1 && layer.kernel.0 > 1 {
                let r = layer.kernel.0, m = Winograd2DFilter.bestTileOutputs(taps: r, side: max(layer.height, layer.width))
                let filter = Winograd2DFilter(weight: w, outputsPerTile: m)
                let s = bestSeconds(repeats: repeats, warmup: 1) {
                    _ = winogradConv2D(x, filter: filter, bias: b, padding: layer.padding, activation: .relu)
                }
                rows.append(Row(name: layer.name + " Winograd \(m)x\(m)", method: "winograd F(\(m)x\(m),\(r)x\(r))", input: x.shape,
                                weight: w.shape, output: out, seconds: s, gflops: flops / s / 1e9, ratioToSgemm: 0))
            } else if (layer.kernel.0 == 1) != (layer.kernel.1 == 1) {
                let r = max(layer.kernel.0, layer.kernel.1), length = layer.kernel.0 == 1 ? layer.width : layer.height
                let m = Winograd1DFilter.bestTileOutputs(taps: r, length: length)
                let filter = Winograd1DFilter(weight: w, outputsPerTile: m)
                let s = bestSeconds(repeats: repeats, warmup: 1) {
                    _ = winogradConv1D(x, filter: filter, bias: b, padding: layer.padding, activation: .relu)
                }
                rows.append(Row(name: layer.name + " Winograd", method: "winograd F(\(m),\(r))", input: x.shape,
                                weight: w.shape, output: out, seconds: s, gflops: flops / s / 1e9, ratioToSgemm: 0))
            }
        }
        let after = squareSgemmRate(n: sgemmSize, repeats: repeats)
        let sgemm = before.gflops >= after.gflops ? before : after
        for i in rows.indices { rows[i].ratioToSgemm = rows[i].gflops / sgemm.gflops }
        let report = Report(blas: blas, sgemmSize: sgemmSize, sgemmGflops: sgemm.gflops, layers: rows)
        if json { print(try jsonText(report, style: .document)); return }
        print(blas.line)
        print(String(format: "sgemm %d³: %.1f GFLOP/s (the machine's rate)", sgemmSize, sgemm.gflops))
        print("layer (batch \(batch))".padding(toLength: 42, withPad: " ", startingAt: 0) + "      ms   GFLOP/s  vs sgemm"
              + (backward ? "   backward ms  GFLOP/s" : ""))
        for r in rows {
            var line = r.name.padding(toLength: 42, withPad: " ", startingAt: 0)
                + String(format: "%8.1f%10.1f%10.2f", r.seconds * 1000, r.gflops, r.ratioToSgemm)
            if let s = r.backwardSeconds, let g = r.backwardGflops { line += String(format: "%14.1f%9.1f", s * 1000, g) }
            print(line)
        }
    }
}
