import TensorCore

/// A value in the computation, with the gradient of the loss with respect to it once
/// `Tape.backward` has run. Parameters are variables that live across steps; activations are
/// made fresh by each forward pass.
public final class Variable {
    public let value: Tensor
    /// dLoss/dvalue, nil until something flows back (or for variables that need no gradient).
    public internal(set) var grad: Tensor?
    /// Whether gradients should flow into this variable (parameters, and anything computed from them).
    public let requiresGrad: Bool

    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
    }

    public var shape: [Int] { value.shape }

    /// Adds `g` to the gradient. The first contribution is adopted without a copy unless
    /// `shared` says someone else still holds that tensor.
    func accumulate(_ g: Tensor, shared: Bool = false) {
        precondition(g.count == value.count, "gradient \(g.shape) does not fit variable \(value.shape)")
        if let grad {
            let d = grad.data, s = g.data
            for i in 0..<grad.count { d[i] += s[i] }
        } else {
            let owned = shared ? g.copy() : g
            grad = owned.shape == value.shape ? owned : owned.reshaped(value.shape)
        }
    }

    public func zeroGrad() { grad = nil }
}

/// Records the backward closure of each differentiable operation as the forward pass runs, and
/// replays them in reverse (reverse-mode automatic differentiation).
///
/// A tape made with `recording: false` runs the same model code for sampling without keeping
/// anything alive for a backward pass.
public final class Tape {
    public let recording: Bool
    private var backwards: [() -> Void] = []

    public init(recording: Bool = true) { self.recording = recording }

    /// The output variable of an operation; `backward` receives dLoss/doutput.
    func output(_ value: Tensor, inputs: [Variable?], backward: @escaping (Tensor) -> Void) -> Variable {
        guard recording && inputs.contains(where: { $0?.requiresGrad == true }) else { return Variable(value) }
        let out = Variable(value, requiresGrad: true)
        backwards.append { [unowned out] in
            if let g = out.grad {
                out.grad = nil  // an activation's gradient is dead once passed on; free it early
                backward(g)
            }
        }
        // keep the output alive until backward has run (closures hold it only unowned)
        keepAlive.append(out)
        return out
    }

    private var keepAlive: [Variable] = []

    /// Seeds dLoss/dloss = 1 and runs every recorded backward, newest first. The tape is empty afterwards.
    public func backward(from loss: Variable) {
        precondition(loss.value.count == 1, "backward needs a scalar loss, got shape \(loss.shape)")
        loss.accumulate(Tensor(shape: loss.shape, repeating: 1))
        for step in backwards.reversed() { step() }
        backwards.removeAll()
        keepAlive.removeAll()
    }
}
