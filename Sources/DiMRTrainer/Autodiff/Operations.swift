import TensorCore

// The differentiable operations the three models are built from. Each forward calls the
// TensorCore kernel; each backward calls the kernel's backward (TensorCore/Ops, forward and
// backward side by side) and adds the result onto the inputs' gradients.

extension Tape {
    // MARK: shape

    /// Same data, new shape.
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        output(x.value.reshaped(shape), inputs: [x]) { g in x.accumulate(g.reshaped(x.shape)) }
    }

    /// Axes reordered: result.shape[i] = x.shape[dims[i]].
    public func permute(_ x: Variable, _ dims: [Int]) -> Variable {
        output(permuted(x.value, dims), inputs: [x]) { g in x.accumulate(permuted(g, inversePermutation(dims))) }
    }

    /// Joins along `axis` (negative counts from the end).
    public func concat(_ xs: [Variable], axis: Int) -> Variable {
        let y = TensorCore.concat(xs.map(\.value), axis: axis)
        let ax = axis < 0 ? axis + y.rank : axis
        return output(y, inputs: xs) { g in
            let parts = split(g, sizes: xs.map { $0.shape[ax] }, axis: ax)
            for (x, part) in zip(xs, parts) where x.requiresGrad { x.accumulate(part) }
        }
    }

    /// The part of `x` at positions `range` along `axis` (copied).
    public func slice(_ x: Variable, axis: Int, _ range: Range<Int>) -> Variable {
        let ax = axis < 0 ? axis + x.value.rank : axis
        let n = x.shape[ax]
        let parts = split(x.value, sizes: [range.lowerBound, range.count, n - range.upperBound], axis: ax)
        return output(parts[1], inputs: [x]) { g in
            var before = x.shape, after = x.shape
            before[ax] = range.lowerBound; after[ax] = n - range.upperBound
            x.accumulate(TensorCore.concat([Tensor(zeros: before), g, Tensor(zeros: after)], axis: ax))
        }
    }

    // MARK: arithmetic

    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.value.count == b.value.count, "add: shapes \(a.shape) and \(b.shape) differ")
        let y = Tensor(uninitialized: a.shape)
        let n = y.count
        parallelChunks(n, minChunk: 16384) { [ys = y.data, as_ = a.value.data, bs = b.value.data] r in
            for i in r { ys[i] = as_[i] + bs[i] }
        }
        return output(y, inputs: [a, b]) { g in
            if a.requiresGrad { a.accumulate(g, shared: true) }
            if b.requiresGrad { b.accumulate(g, shared: true) }
        }
    }

    /// x + y where y's values repeat over x's leading axes (a position embedding added to every sample).
    ///
    ///     x: (…, S) flattened to (R, S·) with y.count dividing x.count; y: any shape with that many values
    public func addBroadcast(_ x: Variable, _ y: Variable) -> Variable {
        let m = y.value.count
        precondition(m > 0 && x.value.count % m == 0, "addBroadcast: \(y.shape) does not tile \(x.shape)")
        let out = x.value.copy()
        let reps = out.count / m
        parallelChunks(reps, minChunk: max(1, 16384 / m)) { [os = out.data, ys = y.value.data] r in
            for k in r { let o = os + k * m; for j in 0..<m { o[j] += ys[j] } }
        }
        return output(out, inputs: [x, y]) { g in
            if x.requiresGrad { x.accumulate(g, shared: true) }
            if y.requiresGrad {
                let dy = Tensor(zeros: y.shape)
                for k in 0..<reps { let s = g.data + k * m; for j in 0..<m { dy.data[j] += s[j] } }
                y.accumulate(dy)
            }
        }
    }

    /// a·x + b elementwise with constants (DiT's 1 + scale).
    public func affine(_ x: Variable, scale a: Float, shift b: Float) -> Variable {
        let y = Tensor(uninitialized: x.shape)
        for i in 0..<y.count { y.data[i] = a * x.value.data[i] + b }
        return output(y, inputs: [x]) { g in
            let d = Tensor(uninitialized: g.shape)
            for i in 0..<d.count { d.data[i] = a * g.data[i] }
            x.accumulate(d)
        }
    }

    /// Each row of group g multiplied by s[g] (DiT's gates: gate[:, None, :] * y).
    ///
    ///     x: (G·R, C) as any shape ending in C;  s: (G, C)
    public func scaleGroups(_ x: Variable, _ s: Variable) -> Variable {
        let c = x.shape.last!, groups = s.shape[0]
        precondition(s.value.rank == 2 && s.shape[1] == c && (x.value.count / c) % groups == 0,
                     "scaleGroups: scales \(s.shape) do not fit \(x.shape)")
        let rows = x.value.count / c, perGroup = rows / groups
        let y = Tensor(uninitialized: x.shape)
        parallelChunks(rows, minChunk: max(1, 8192 / c)) { [ys = y.data, xs = x.value.data, ss = s.value.data] r in
            for row in r {
                let sr = ss + (row / perGroup) * c, xr = xs + row * c, yr = ys + row * c
                for j in 0..<c { yr[j] = xr[j] * sr[j] }
            }
        }
        return output(y, inputs: [x, s]) { g in
            if x.requiresGrad {
                let dx = Tensor(uninitialized: x.shape)
                for row in 0..<rows {
                    let sr = s.value.data + (row / perGroup) * c, gr = g.data + row * c, dr = dx.data + row * c
                    for j in 0..<c { dr[j] = gr[j] * sr[j] }
                }
                x.accumulate(dx)
            }
            if s.requiresGrad {
                let ds = Tensor(zeros: s.shape)
                for row in 0..<rows {
                    let dr = ds.data + (row / perGroup) * c, gr = g.data + row * c, xr = x.value.data + row * c
                    for j in 0..<c { dr[j] += gr[j] * xr[j] }
                }
                s.accumulate(ds)
            }
        }
    }

    // MARK: layers

    /// x·Wᵀ + b over the last axis. x: (…, K), weight: (N, K), bias: (N) → (…, N)
    public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let y = TensorCore.linear(x.value, weight: weight.value, bias: bias?.value)
        return output(y, inputs: [x, weight, bias]) { g in
            let grads = linearBackward(g, input: x.value, weight: weight.value, hasBias: bias != nil,
                                       needsInputGradient: x.requiresGrad)
            if let dx = grads.input { x.accumulate(dx) }
            if weight.requiresGrad { weight.accumulate(grads.weight) }
            if let bias, bias.requiresGrad, let db = grads.bias { bias.accumulate(db) }
        }
    }

    public func gelu(_ x: Variable, kind: GELUKind = .exact) -> Variable {
        output(TensorCore.gelu(x.value, kind: kind), inputs: [x]) { g in
            x.accumulate(geluBackward(g, input: x.value, kind: kind))
        }
    }

    public func silu(_ x: Variable) -> Variable {
        output(TensorCore.silu(x.value), inputs: [x]) { g in x.accumulate(siluBackward(g, input: x.value)) }
    }

    /// GELU(a) ⊙ b for x = [a | b] on the last axis: (…, 2H) → (…, H)
    public func gatedGELU(_ x: Variable, kind: GELUKind = .exact) -> Variable {
        output(TensorCore.gatedGELU(x.value, kind: kind), inputs: [x]) { g in
            x.accumulate(gatedGELUBackward(g, input: x.value, kind: kind))
        }
    }

    /// LayerNorm over the last axis; gamma/beta (G, C) apply per group of rows (G = 1: shared).
    public func layerNorm(_ x: Variable, gamma: Variable?, beta: Variable?, eps: Float = 1e-5) -> Variable {
        let (y, cache) = TensorCore.layerNorm(x.value, gamma: gamma?.value, beta: beta?.value, eps: eps)
        return output(y, inputs: [x, gamma, beta]) { g in
            let grads = layerNormBackward(g, input: x.value, gamma: gamma?.value, hasBeta: beta != nil, cache: cache)
            if x.requiresGrad { x.accumulate(grads.input) }
            if let gamma, gamma.requiresGrad, let dg = grads.gamma { gamma.accumulate(dg) }
            if let beta, beta.requiresGrad, let db = grads.beta { beta.accumulate(db) }
        }
    }

    /// RMSNorm over the last axis (DiMR's eps-outside-the-root form); gamma (G, C) per group of rows.
    public func rmsNorm(_ x: Variable, gamma: Variable?, eps: Float = 1e-8) -> Variable {
        let (y, cache) = TensorCore.rmsNorm(x.value, gamma: gamma?.value, eps: eps)
        return output(y, inputs: [x, gamma]) { g in
            let grads = rmsNormBackward(g, input: x.value, gamma: gamma?.value, cache: cache)
            if x.requiresGrad { x.accumulate(grads.input) }
            if let gamma, gamma.requiresGrad, let dg = grads.gamma { gamma.accumulate(dg) }
        }
    }

    /// Multi-head self-attention on fused q|k|v: (B, T, 3D) → (B, T, D)
    public func attention(_ qkv: Variable, heads: Int) -> Variable {
        let (y, probs) = TensorCore.attention(qkv.value, heads: heads)
        return output(y, inputs: [qkv]) { g in
            qkv.accumulate(attentionBackward(g, qkv: qkv.value, probabilities: probs, heads: heads))
        }
    }

    /// Rows of `table` (V, D) at `indices` → (N, D)
    public func embedding(_ table: Variable, indices: [Int]) -> Variable {
        output(TensorCore.embedding(table.value, indices: indices), inputs: [table]) { g in
            table.accumulate(embeddingBackward(g, indices: indices, vocabularySize: table.shape[0]))
        }
    }

    /// NCHW convolution (groups == C: depthwise). x: (N, C, H, W), weight: (O, C/groups, KH, KW)
    public func conv2d(_ x: Variable, weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0,
                       groups: Int = 1) -> Variable {
        let pad = Padding2D.same(padding, padding)
        let y = TensorCore.conv2d(x.value, weight: weight.value, bias: bias?.value, stride: (stride, stride),
                                  padding: pad, groups: groups)
        return output(y, inputs: [x, weight, bias]) { g in
            let grads = conv2dBackward(g, input: x.value, weight: weight.value, stride: (stride, stride), padding: pad,
                                       groups: groups, hasBias: bias != nil, needsInputGradient: x.requiresGrad)
            if let dx = grads.input { x.accumulate(dx) }
            if weight.requiresGrad { weight.accumulate(grads.weight) }
            if let bias, bias.requiresGrad, let db = grads.bias { bias.accumulate(db) }
        }
    }

    /// Depthwise K×K convolution of channels-last images, stride 1, "same" padding.
    ///
    ///     x: (B, H, W, C), weight: (C, 1, K, K), bias: (C) → (B, H, W, C)
    public func depthwiseConv2dChannelsLast(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let y = TensorCore.depthwiseConv2dChannelsLast(x.value, weight: weight.value, bias: bias?.value)
        return output(y, inputs: [x, weight, bias]) { g in
            let grads = depthwiseConv2dChannelsLastBackward(g, input: x.value, weight: weight.value, needsInputGradient: x.requiresGrad)
            if let dx = grads.input { x.accumulate(dx) }
            if weight.requiresGrad { weight.accumulate(grads.weight) }
            if let bias, bias.requiresGrad { bias.accumulate(grads.bias) }
        }
    }

    /// (N, C·r², H, W) → (N, C, H·r, W·r)
    public func pixelShuffle(_ x: Variable, factor: Int) -> Variable {
        output(TensorCore.pixelShuffle(x.value, factor: factor), inputs: [x]) { g in
            x.accumulate(pixelShuffleBackward(g, factor: factor))
        }
    }

    // MARK: losses

    /// weight · mean((prediction − target)²); the target is a constant. With `sampleWeights`
    /// (one per leading index) each sample's squared errors are scaled by its weight first.
    public func mse(_ prediction: Variable, target: Tensor, weight: Float = 1, sampleWeights: [Float]? = nil) -> Variable {
        let loss = Tensor(shape: [1], values: [weight * mseLoss(prediction.value, target, sampleWeights: sampleWeights)])
        return output(loss, inputs: [prediction]) { g in
            prediction.accumulate(mseLossBackward(prediction.value, target, weight: weight * g.data[0], sampleWeights: sampleWeights))
        }
    }

    /// Σ of scalar variables (the multi-scale loss's terms).
    public func sum(_ scalars: [Variable]) -> Variable {
        let total = scalars.reduce(Float(0)) { $0 + $1.value.data[0] }
        return output(Tensor(shape: [1], values: [total]), inputs: scalars) { g in
            for s in scalars where s.requiresGrad { s.accumulate(g, shared: true) }
        }
    }
}
