/// Zero (or, for max pooling, -∞) padding around the two spatial axes of an NCHW tensor.
/// Asymmetric padding is allowed, as TensorFlow's "SAME" padding and 1x7/7x1 kernels need it.
public struct Padding2D: Equatable, Sendable, CustomStringConvertible {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        precondition(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                     "padding must be non-negative, got top \(top) bottom \(bottom) left \(left) right \(right)")
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }

    public static let zero = Padding2D(top: 0, bottom: 0, left: 0, right: 0)

    /// Symmetric padding: `h` rows above and below, `w` columns left and right (torch's `padding=(h, w)`).
    public static func same(_ h: Int, _ w: Int) -> Padding2D { Padding2D(top: h, bottom: h, left: w, right: w) }

    public var description: String { "Padding2D(top: \(top), bottom: \(bottom), left: \(left), right: \(right))" }

    /// Output spatial size of a sliding window (conv or pool, floor mode) over an h×w input.
    public func outputSize(height h: Int, width w: Int, kernel: (Int, Int), stride: (Int, Int)) -> (Int, Int) {
        precondition(kernel.0 > 0 && kernel.1 > 0, "kernel must be positive, got \(kernel)")
        precondition(stride.0 > 0 && stride.1 > 0, "stride must be positive, got \(stride)")
        let ph = h + top + bottom, pw = w + left + right
        precondition(ph >= kernel.0 && pw >= kernel.1,
                     "kernel \(kernel) larger than the padded input \(ph)x\(pw) (input \(h)x\(w), \(self))")
        return ((ph - kernel.0) / stride.0 + 1, (pw - kernel.1) / stride.1 + 1)
    }

    /// For one kernel offset `k` along an axis: the range of output positions whose input position
    /// `o·stride − before + k` falls inside 0..<inputSize (the rest read padding).
    @inline(__always)
    static func validOutputs(kernelOffset k: Int, stride s: Int, before: Int, inputSize n: Int, outputSize: Int) -> Range<Int> {
        // smallest o with o·s ≥ before − k, largest with o·s ≤ n − 1 + before − k
        let lo = max(0, ceilDiv(before - k, s))
        let hi = min(outputSize, floorDiv(n - 1 + before - k, s) + 1)
        return lo..<max(lo, hi)
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
