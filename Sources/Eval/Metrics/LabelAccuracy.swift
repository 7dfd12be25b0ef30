import Foundation
import TensorCore

/// Do class-conditional samples show the class they were drawn for? A multinomial logistic
/// regression on the reference's pool3 features and labels (`arr_1`) is fitted, and applied to
/// the samples with the labels they were drawn for: the share it assigns to that label.
///
/// Why it exists beside precision: on small images k-NN precision asks whether a sample lies
/// within a few grey levels of a real image (2 grey levels of noise take real images from 0.91 to
/// 0.35; fixtures/trainer/RUNLOG.md), so it stays near 0 while a model's shapes go from blobs to
/// recognisable classes. Label accuracy follows what a person sees in a grid (RUNLOG: DiT 0.23 →
/// 0.54 → 0.73 over 2,500 → 7,500 steps while precision stayed ≤ 0.05). Its ceiling is the same
/// classifier on real images: `referenceAccuracy`, cross-fitted over 5 folds of the reference.
///
/// The classifier is scikit-learn's `StandardScaler` + `LogisticRegression(C=0.05)` (multinomial,
/// L2 on the weights, intercepts unpenalised), solved to a tight optimum; the test checks its
/// probabilities against scikit-learn's on the same data (fixtures/metrics/label_accuracy.json).
public enum LabelAccuracy {
    /// scikit-learn's C (inverse L2 strength): strong regularisation, as 2,048 features meet a
    /// few hundred images.
    public static let inverseRegularisation = 0.05
    public static let folds = 5
    /// Beyond these the dense softmax fit costs minutes (50k × 2048 × 1,000 classes per iteration):
    /// ImageNet-scale label accuracy needs a real classifier, not this probe.
    public static let maximumReferenceImages = 20_000
    public static let maximumClasses = 100

    public struct Result: Codable, Sendable, Equatable {
        /// share of samples classified as the label they were drawn for
        public var accuracy: Double
        /// the same classifier on held-out reference images (5-fold cross-fitting): the ceiling
        public var referenceAccuracy: Double
        public var classes: Int
        /// samples scored
        public var samples: Int
        /// samples left out: drawn for a class the reference does not hold
        public var excluded: Int
        enum CodingKeys: String, CodingKey { case accuracy, referenceAccuracy = "reference_accuracy", classes, samples, excluded }
    }

    /// reference: (N, D) features with `referenceLabels`; samples: (M, D) with the labels they were drawn for.
    /// `knownReferenceAccuracy`: the reference's cross-fitted accuracy from an earlier call on the
    /// same reference (it does not depend on the samples), which skips the five fold fits.
    public static func compute(reference: Tensor, referenceLabels: [Int], samples: Tensor, sampleLabels: [Int],
                               referenceName: String = "reference", samplesName: String = "samples",
                               knownReferenceAccuracy: Double? = nil) throws -> Result {
        let n = reference.shape[0], d = reference.shape[1], m = samples.shape[0]
        guard referenceLabels.count == n else {
            throw MetricError("\(referenceName): \(referenceLabels.count) labels (arr_1) for \(n) images; expected one per image")
        }
        guard sampleLabels.count == m else {
            throw MetricError("\(samplesName): \(sampleLabels.count) labels (arr_1) for \(m) images; expected one per image")
        }
        guard samples.shape[1] == d else { throw MetricError("\(samplesName): features of \(samples.shape[1]) dimensions against the reference's \(d)") }
        let classes = Array(Set(referenceLabels)).sorted()
        guard classes.count >= 2 else {
            throw MetricError("\(referenceName): arr_1 holds \(classes.count) class; label accuracy needs at least 2")
        }
        // A class the reference does not hold cannot be predicted: such samples are left out
        // (counted in `excluded`), and when no sample is left the label spaces do not match.
        let known = Set(classes)
        let kept = (0..<m).filter { known.contains(sampleLabels[$0]) }
        guard !kept.isEmpty else {
            throw MetricError("\(samplesName): none of the labels in arr_1 (\(Set(sampleLabels).sorted().prefix(5).map(String.init).joined(separator: ", "))…) is a class of \(referenceName) (\(classes.count) classes, \(classes.first!)…\(classes.last!))")
        }
        let model = LabelClassifier.fit(features: reference, labels: referenceLabels)
        let predicted = model.predict(kept.count == m ? samples : samples.rows(kept))
        let accuracy = Double(zip(predicted, kept.map { sampleLabels[$0] }).filter { $0 == $1 }.count) / Double(kept.count)

        if let knownReferenceAccuracy {
            return Result(accuracy: accuracy, referenceAccuracy: knownReferenceAccuracy, classes: classes.count,
                          samples: kept.count, excluded: m - kept.count)
        }
        // Cross-fitting: each reference image is classified by a model that did not see it. Folds
        // are stratified: within each class, images in order go to folds 0, 1, …, 4, 0, ….
        var fold = [Int](repeating: 0, count: n), seen: [Int: Int] = [:]
        for i in 0..<n { fold[i] = seen[referenceLabels[i], default: 0] % folds; seen[referenceLabels[i], default: 0] += 1 }
        var correct = 0
        for f in 0..<folds {
            let train = (0..<n).filter { fold[$0] != f }, test = (0..<n).filter { fold[$0] == f }
            guard !test.isEmpty, Set(train.map { referenceLabels[$0] }).count >= 2 else { continue }
            let part = LabelClassifier.fit(features: reference.rows(train), labels: train.map { referenceLabels[$0] })
            correct += zip(part.predict(reference.rows(test)), test.map { referenceLabels[$0] }).filter { $0 == $1 }.count
        }
        return Result(accuracy: accuracy, referenceAccuracy: Double(correct) / Double(n), classes: classes.count,
                      samples: kept.count, excluded: m - kept.count)
    }
}

/// scikit-learn's `StandardScaler` then `LogisticRegression(C)` on (N, D) features with any
/// integer labels: what `LabelAccuracy` fits, public so that its probabilities can be checked
/// against scikit-learn's.
public struct LabelClassifier: Sendable {
    /// the distinct labels, ascending: column k of `probabilities` is `classes[k]`
    public let classes: [Int]
    let scaler: StandardScaling
    let model: SoftmaxRegression

    public static func fit(features: Tensor, labels: [Int], inverseRegularisation: Double = LabelAccuracy.inverseRegularisation) -> LabelClassifier {
        let n = features.shape[0], d = features.shape[1]
        let classes = Array(Set(labels)).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let x = features.doubles()
        let scaler = StandardScaling(fitting: x, rows: n, columns: d)
        let model = SoftmaxRegression.fit(x: scaler.apply(x), labels: labels.map { index[$0]! }, rows: n, columns: d,
                                          classes: classes.count, inverseRegularisation: inverseRegularisation)
        return LabelClassifier(classes: classes, scaler: scaler, model: model)
    }

    /// (rows, classes) row-major
    public func probabilities(_ features: Tensor) -> [Double] {
        model.probabilities(scaler.apply(features.doubles()), rows: features.shape[0])
    }

    /// the most probable label of each row
    public func predict(_ features: Tensor) -> [Int] {
        model.predict(scaler.apply(features.doubles()), rows: features.shape[0]).map { classes[$0] }
    }
}

private extension Tensor {
    func doubles() -> [Double] { (0..<count).map { Double(data[$0]) } }
    /// the given rows of a (N, D) tensor
    func rows(_ indices: [Int]) -> Tensor {
        let d = shape[1]
        let out = Tensor(uninitialized: [indices.count, d])
        for (r, i) in indices.enumerated() { out.data.advanced(by: r * d).update(from: data.advanced(by: i * d), count: d) }
        return out
    }
}

/// scikit-learn's StandardScaler: (x − mean) / std with the population std (ddof 0); a constant
/// column keeps scale 1.
struct StandardScaling: Sendable {
    var mean: [Double], scale: [Double]

    init(fitting x: [Double], rows: Int, columns d: Int) {
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<rows { for j in 0..<d { mean[j] += x[i * d + j] } }
        mean = mean.map { $0 / Double(rows) }
        var variance = [Double](repeating: 0, count: d)
        for i in 0..<rows { for j in 0..<d { let c = x[i * d + j] - mean[j]; variance[j] += c * c } }
        self.mean = mean
        scale = variance.map { v in let s = (v / Double(rows)).squareRoot(); return s < 10 * Double.ulpOfOne ? 1 : s }
    }

    func apply(_ x: [Double]) -> [Double] {
        let d = mean.count
        var out = x
        for i in 0..<(x.count / d) { for j in 0..<d { out[i * d + j] = (x[i * d + j] - mean[j]) / scale[j] } }
        return out
    }
}

/// p(class k | x) = softmax(W x + b)_k, fitted by minimising scikit-learn's objective
/// C·Σᵢ −log p(yᵢ | xᵢ) + ½‖W‖² (intercepts unpenalised) with L-BFGS. The objective is strictly
/// convex in W, so any solver that converges reaches the same probabilities; this one stops far
/// tighter than scikit-learn's default tolerance.
struct SoftmaxRegression: Sendable {
    /// (classes, columns) row-major
    var weights: [Double]
    var bias: [Double]
    let classes: Int, columns: Int

    /// Logits (rows, classes).
    func logits(_ x: [Double], rows: Int) -> [Double] {
        var z = [Double](repeating: 0, count: rows * classes)
        for i in 0..<rows { for k in 0..<classes { z[i * classes + k] = bias[k] } }
        guard rows > 0 else { return z }
        x.withUnsafeBufferPointer { xp in
            weights.withUnsafeBufferPointer { wp in
                z.withUnsafeMutableBufferPointer { zp in
                    BLAS.dgemm(transB: true, m: rows, n: classes, k: columns, a: xp.baseAddress!, lda: columns,
                               b: wp.baseAddress!, ldb: columns, beta: 1, c: zp.baseAddress!, ldc: classes)
                }
            }
        }
        return z
    }

    /// Softmax rows (rows, classes).
    func probabilities(_ x: [Double], rows: Int) -> [Double] {
        var z = logits(x, rows: rows)
        Self.softmaxRows(&z, classes: classes)
        return z
    }

    func predict(_ x: [Double], rows: Int) -> [Int] {
        let z = logits(x, rows: rows)
        return (0..<rows).map { i in
            var best = 0
            for k in 1..<classes where z[i * classes + k] > z[i * classes + best] { best = k }
            return best
        }
    }

    static func softmaxRows(_ z: inout [Double], classes: Int) {
        for i in 0..<(z.count / classes) {
            let row = (i * classes)..<((i + 1) * classes)
            let top = z[row].max()!
            var sum = 0.0
            for j in row { z[j] = exp(z[j] - top); sum += z[j] }
            for j in row { z[j] /= sum }
        }
    }

    /// With fewer images than features (256 against 2,048) the fit runs in the rows' own span:
    /// the optimum's weights are a combination of the rows (the gradient C·(P − Y)ᵀX + W vanishes
    /// there), so with X = U·S·Vᵀ the same objective over M = W·V (classes × rank) has the same
    /// minimum, ‖W‖ = ‖M‖ and XWᵀ = (U·S)Mᵀ, at n²·K instead of n·d·K per evaluation — 8× fewer
    /// flops for the scorer's 256 images. W = M·Vᵀ is formed at the end.
    static func fit(x: [Double], labels: [Int], rows n: Int, columns d: Int, classes: Int,
                    inverseRegularisation c: Double, maxIterations: Int = 5000) -> SoftmaxRegression {
        guard n < d / 2, let basis = try? RowSpan(x, rows: n, columns: d) else {
            return fitInPlace(x: x, labels: labels, rows: n, columns: d, classes: classes, inverseRegularisation: c, maxIterations: maxIterations)
        }
        // Hundreds of products of a few hundred rows: OpenBLAS's threads would spend more time
        // waking up than computing (and spin against other processes on a loaded machine).
        let reduced = withSingleThreadedBLAS {
            fitInPlace(x: basis.coordinates, labels: labels, rows: n, columns: basis.rank, classes: classes,
                       inverseRegularisation: c, maxIterations: maxIterations)
        }
        return SoftmaxRegression(weights: basis.lift(reduced.weights, classes: classes, x: x), bias: reduced.bias, classes: classes, columns: d)
    }

    static func fitInPlace(x: [Double], labels: [Int], rows n: Int, columns d: Int, classes: Int,
                           inverseRegularisation c: Double, maxIterations: Int) -> SoftmaxRegression {
        // Minimised per image (the sum divided by C·n), as scikit-learn does, so the tolerance
        // does not depend on n.
        let lossScale = 1 / Double(n), penalty = 1 / (c * Double(n))
        let weightCount = classes * d
        func objective(_ theta: [Double]) -> (value: Double, gradient: [Double]) {
            let model = SoftmaxRegression(weights: Array(theta[0..<weightCount]), bias: Array(theta[weightCount...]), classes: classes, columns: d)
            var p = model.logits(x, rows: n)
            var loss = 0.0
            for i in 0..<n {
                let row = (i * classes)..<((i + 1) * classes)
                let top = p[row].max()!
                let logSum = top + log(p[row].reduce(0) { $0 + exp($1 - top) })
                loss -= p[i * classes + labels[i]] - logSum
            }
            softmaxRows(&p, classes: classes)
            for i in 0..<n { p[i * classes + labels[i]] -= 1 }            // residual P − Y
            var gradient = [Double](repeating: 0, count: weightCount + classes)
            p.withUnsafeBufferPointer { rp in
                x.withUnsafeBufferPointer { xp in
                    gradient.withUnsafeMutableBufferPointer { gp in
                        BLAS.dgemm(transA: true, m: classes, n: d, k: n, alpha: lossScale, a: rp.baseAddress!, lda: classes,
                                   b: xp.baseAddress!, ldb: d, c: gp.baseAddress!, ldc: d)
                    }
                }
            }
            var squares = 0.0
            for j in 0..<weightCount { gradient[j] += penalty * theta[j]; squares += theta[j] * theta[j] }
            for i in 0..<n { for k in 0..<classes { gradient[weightCount + k] += lossScale * p[i * classes + k] } }
            return (loss * lossScale + 0.5 * penalty * squares, gradient)
        }
        let theta = LBFGS.minimise(objective, start: [Double](repeating: 0, count: weightCount + classes), maxIterations: maxIterations)
        return SoftmaxRegression(weights: Array(theta[0..<weightCount]), bias: Array(theta[weightCount...]), classes: classes, columns: d)
    }
}

/// An orthonormal basis V (d × rank) of the span of X's rows, from the eigenvectors of the Gram
/// matrix XXᵀ = U·S²·Uᵀ: the rows' coordinates in it are U·S, and V = XᵀU·S⁻¹.
struct RowSpan {
    let rank: Int, rows: Int
    /// U·S (rows × rank)
    let coordinates: [Double]
    /// U·S⁻¹ (rows × rank): V = Xᵀ·(U·S⁻¹)
    let inverseScaled: [Double]

    init(_ x: [Double], rows n: Int, columns d: Int) throws {
        var gram = [Double](repeating: 0, count: n * n), eigenvalues = [Double](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            gram.withUnsafeMutableBufferPointer { gp in
                BLAS.dgemm(transB: true, m: n, n: n, k: d, a: xp.baseAddress!, lda: d, b: xp.baseAddress!, ldb: d, c: gp.baseAddress!, ldc: n)
            }
        }
        try gram.withUnsafeMutableBufferPointer { g in
            try eigenvalues.withUnsafeMutableBufferPointer { try BLAS.symmetricEigen(n: n, a: g.baseAddress!, w: $0.baseAddress!) }
        }
        // Directions with a negligible singular value carry no row (centring removes one).
        let largest = eigenvalues.last ?? 0
        let kept = (0..<n).filter { eigenvalues[$0] > 1e-12 * largest }
        rank = kept.count; rows = n
        var coordinates = [Double](repeating: 0, count: n * kept.count), inverseScaled = coordinates
        for (r, j) in kept.enumerated() {
            let singular = eigenvalues[j].squareRoot()
            for i in 0..<n {
                coordinates[i * kept.count + r] = gram[i * n + j] * singular
                inverseScaled[i * kept.count + r] = gram[i * n + j] / singular
            }
        }
        self.coordinates = coordinates; self.inverseScaled = inverseScaled
    }

    /// W = M·Vᵀ = (M·(U·S⁻¹)ᵀ)·X for M (classes × rank): weights over the original columns.
    func lift(_ m: [Double], classes: Int, x: [Double]) -> [Double] {
        let d = x.count / rows
        var combination = [Double](repeating: 0, count: classes * rows), w = [Double](repeating: 0, count: classes * d)
        m.withUnsafeBufferPointer { mp in
            inverseScaled.withUnsafeBufferPointer { up in
                combination.withUnsafeMutableBufferPointer { cp in
                    BLAS.dgemm(transB: true, m: classes, n: rows, k: rank, a: mp.baseAddress!, lda: rank, b: up.baseAddress!, ldb: rank,
                               c: cp.baseAddress!, ldc: rows)
                }
            }
        }
        combination.withUnsafeBufferPointer { cp in
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeMutableBufferPointer { wp in
                    BLAS.dgemm(m: classes, n: d, k: rows, a: cp.baseAddress!, lda: rows, b: xp.baseAddress!, ldb: d, c: wp.baseAddress!, ldc: d)
                }
            }
        }
        return w
    }
}

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4 and 7.5) with a backtracking Armijo line
/// search: enough for the smooth convex objectives it serves here.
enum LBFGS {
    static func minimise(_ f: ([Double]) -> (value: Double, gradient: [Double]), start: [Double],
                         memory: Int = 10, gradientTolerance: Double = 1e-10, maxIterations: Int = 5000) -> [Double] {
        var x = start
        var (value, gradient) = f(x)
        var s: [[Double]] = [], y: [[Double]] = [], rho: [Double] = []
        func dot(_ a: [Double], _ b: [Double]) -> Double { var t = 0.0; for i in a.indices { t += a[i] * b[i] }; return t }
        for _ in 0..<maxIterations {
            if gradient.map(abs).max() ?? 0 <= gradientTolerance { break }
            // Two-loop recursion: direction = −H·g.
            var q = gradient
            var alpha = [Double](repeating: 0, count: s.count)
            for i in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[i] = rho[i] * dot(s[i], q)
                for j in q.indices { q[j] -= alpha[i] * y[i][j] }
            }
            let gamma = s.isEmpty ? 1 / max(gradient.map(abs).max()!, 1e-300) : dot(s.last!, y.last!) / dot(y.last!, y.last!)
            for j in q.indices { q[j] *= gamma }
            for i in 0..<s.count {
                let beta = rho[i] * dot(y[i], q)
                for j in q.indices { q[j] += s[i][j] * (alpha[i] - beta) }
            }
            var direction = q.map { -$0 }
            var slope = dot(gradient, direction)
            if slope >= 0 {   // not a descent direction (round-off): restart from steepest descent
                s.removeAll(); y.removeAll(); rho.removeAll()
                direction = gradient.map { -$0 }
                slope = dot(gradient, direction)
            }
            var step = 1.0
            var candidate = x, next = (value: value, gradient: gradient)
            var accepted = false
            for _ in 0..<60 {
                for j in x.indices { candidate[j] = x[j] + step * direction[j] }
                next = f(candidate)
                if next.value <= value + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            guard accepted else { break }   // no decrease left at double precision: converged
            let sNew = zip(candidate, x).map { $0 - $1 }, yNew = zip(next.gradient, gradient).map { $0 - $1 }
            let curvature = dot(sNew, yNew)
            let decrease = value - next.value
            x = candidate; value = next.value; gradient = next.gradient
            if curvature > 1e-12 * dot(yNew, yNew) {
                s.append(sNew); y.append(yNew); rho.append(1 / curvature)
                if s.count > memory { s.removeFirst(); y.removeFirst(); rho.removeFirst() }
            }
            if decrease <= 1e-16 * max(abs(value), 1) && gradient.map(abs).max()! <= 1e-7 { break }
        }
        return x
    }
}
