/// Channels `channels` of an (N, C, H, W) tensor, as a convolution's input or output.
///
/// Why: an Inception block's branches read their part of a shared 1×1 convolution's output and
/// write into their part of the block's output; with windows neither needs a split or concat copy
/// (those copies were ~2% of the network's time).
public struct ChannelWindow {
    public let tensor: Tensor
    public let channels: Range<Int>

    /// All channels of `tensor` when `channels` is nil.
    public init(_ tensor: Tensor, channels: Range<Int>? = nil) {
        precondition(tensor.rank == 4, "ChannelWindow: tensor must be (N, C, H, W), got shape \(tensor.shape)")
        let window = channels ?? 0..<tensor.shape[1]
        precondition(window.lowerBound >= 0 && window.upperBound <= tensor.shape[1],
                     "ChannelWindow: channels \(window) outside 0..<\(tensor.shape[1]) (shape \(tensor.shape))")
        self.tensor = tensor
        self.channels = window
    }

    public var batch: Int { tensor.shape[0] }
    public var count: Int { channels.count }
    public var height: Int { tensor.shape[2] }
    public var width: Int { tensor.shape[3] }
    /// The (N, channels, H, W) shape the window stands for.
    public var shape: [Int] { [batch, count, height, width] }
    /// Image 0's first window channel; image i's starts `imageStride` floats later, and its
    /// channels are consecutive H·W planes from there.
    public var base: UnsafeMutablePointer<Float> { tensor.data + channels.lowerBound * height * width }
    public var imageStride: Int { tensor.shape[1] * height * width }

    /// Whether writing one window could change what the other reads: same tensor, shared channels.
    public func overlaps(_ other: ChannelWindow) -> Bool {
        tensor === other.tensor && channels.overlaps(other.channels)
    }

    /// A fresh (N, channels, H, W) tensor holding the window's values.
    public func copied() -> Tensor {
        let y = Tensor(uninitialized: shape)
        let plane = count * height * width
        for i in 0..<batch { (y.data + i * plane).update(from: base + i * imageStride, count: plane) }
        return y
    }

    /// Copies `source`'s values (same N, H, W, as many channels) into this window.
    public func copy(from source: ChannelWindow) {
        precondition(source.shape == shape, "ChannelWindow.copy: source \(source.shape) ≠ destination \(shape)")
        let plane = count * height * width
        for i in 0..<batch { (base + i * imageStride).update(from: source.base + i * source.imageStride, count: plane) }
    }
}

/// Runs a channel-window kernel on whole tensors: allocates the (N, O, OH, OW) output of a
/// stride-1 `kernel` with `padding`, lets `body` fill it, returns it.
func withNewOutput(of op: String, input x: Tensor, channels o: Int, kernel: (Int, Int), padding: Padding2D,
                   _ body: (ChannelWindow, ChannelWindow) -> Void) -> Tensor {
    precondition(x.rank == 4, "\(op): input must be (N, C, H, W), got shape \(x.shape)")
    let (oh, ow) = padding.outputSize(height: x.shape[2], width: x.shape[3], kernel: kernel, stride: (1, 1))
    let y = Tensor(uninitialized: [x.shape[0], o, oh, ow])
    body(ChannelWindow(x), ChannelWindow(y))
    return y
}
