/// Updates a model's parameters from their gradients, keeping its own state between steps.
public protocol Optimizer<Scalar>: Sendable {
    associatedtype Scalar: TensorScalar

    /// Applies one update for the gradients of one backward pass (`<param>` → gradient).
    /// Parameters without a gradient are left alone.
    mutating func step(_ model: inout Model<Scalar>, gradients: [String: Tensor<Scalar>]) throws
}

extension Optimizer {
    /// Applies `update(name, parameter, gradient)` to every parameter that has a gradient.
    func updateEach(
        _ model: inout Model<Scalar>, _ gradients: [String: Tensor<Scalar>],
        _ update: (String, Tensor<Scalar>, Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws {
        for name in model.parameterNames {
            guard let gradient = gradients[name] else { continue }
            let parameter = try model.parameter(name)
            guard gradient.shape == parameter.shape else {
                throw TensorError.shapeMismatch(operation: "optimizer step for \(name)", lhs: parameter.shape, rhs: gradient.shape)
            }
            try model.setParameter(name, to: update(name, parameter, gradient))
        }
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
/// as `torch.optim.SGD`.
public struct SGD<Scalar: TensorScalar>: Optimizer {
    public var learningRate: Scalar
    public var momentum: Scalar
    public var dampening: Scalar
    public var nesterov: Bool
    public var weightDecay: Scalar
    private var buffers: [String: Tensor<Scalar>] = [:]

    public init(learningRate: Scalar, momentum: Scalar = 0, dampening: Scalar = 0, nesterov: Bool = false, weightDecay: Scalar = 0) throws {
        guard learningRate >= 0, momentum >= 0, weightDecay >= 0 else {
            throw TensorError.invalidArgument(operation: "SGD", reason: "learning rate, momentum and weight decay must be non-negative")
        }
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw TensorError.invalidArgument(operation: "SGD", reason: "Nesterov momentum requires a momentum and zero dampening")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public mutating func step(_ model: inout Model<Scalar>, gradients: [String: Tensor<Scalar>]) throws {
        var buffers = self.buffers
        let (lr, mu, dampening, nesterov, decay) = (learningRate, momentum, dampening, nesterov, weightDecay)
        try updateEach(&model, gradients) { name, parameter, gradient in
            var direction = decay == 0 ? gradient : try gradient + parameter * decay
            if mu != 0 {
                // The first step starts the buffer at the gradient, as PyTorch does.
                let buffer = try buffers[name].map { try $0 * mu + direction * (1 - dampening) } ?? direction
                buffers[name] = buffer
                direction = nesterov ? try direction + buffer * mu : buffer
            }
            return try parameter - direction * lr
        }
        self.buffers = buffers
    }
}

extension SGD: StatefulOptimizer {
    /// `momentum_buffer.<parameter>`, as in `torch.optim.SGD`'s state.
    public func savedState() throws -> [String: Tensor<Scalar>] {
        Dictionary(uniqueKeysWithValues: buffers.map { ("momentum_buffer.\($0.key)", $0.value) })
    }

    public mutating func restoreState(_ state: [String: Tensor<Scalar>]) throws {
        buffers = try Self.entries(state, prefixes: ["momentum_buffer"], allowed: [], optimizer: "SGD")["momentum_buffer"] ?? [:]
    }
}

/// Adam with L2 weight decay added to the gradient, as `torch.optim.Adam` (`amsgrad=False`).
public struct Adam<Scalar: TensorScalar>: Optimizer {
    public var learningRate: Scalar
    public var beta1: Scalar
    public var beta2: Scalar
    public var epsilon: Scalar
    public var weightDecay: Scalar
    private var steps = 0
    private var moments: [String: (first: Tensor<Scalar>, second: Tensor<Scalar>)] = [:]

    public init(learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8, weightDecay: Scalar = 0) throws {
        guard learningRate >= 0, (0..<1).contains(beta1), (0..<1).contains(beta2), epsilon >= 0, weightDecay >= 0 else {
            throw TensorError.invalidArgument(operation: "Adam", reason: "needs learning rate, epsilon, weight decay ≥ 0 and betas in [0, 1)")
        }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public mutating func step(_ model: inout Model<Scalar>, gradients: [String: Tensor<Scalar>]) throws {
        steps += 1
        var moments = self.moments
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, weightDecay)
        let correction1 = 1 - Scalar.pow(b1, steps), correction2 = 1 - Scalar.pow(b2, steps)
        let stepSize = learningRate / correction1
        try updateEach(&model, gradients) { name, parameter, gradient in
            let g = decay == 0 ? gradient : try gradient + parameter * decay
            let zero = try Tensor<Scalar>(zeros: g.shape)
            let previous = moments[name] ?? (zero, zero)
            let first = try previous.first * b1 + g * (1 - b1)
            let second = try previous.second * b2 + g.squared() * (1 - b2)
            moments[name] = (first, second)
            let denominator = (second.sqrt() / Scalar.sqrt(correction2)) + eps
            return try parameter - (first / denominator) * stepSize
        }
        self.moments = moments
    }
}

extension Adam: StatefulOptimizer {
    /// `step`, `exp_avg.<parameter>` and `exp_avg_sq.<parameter>`, as in `torch.optim.Adam`'s state.
    public func savedState() throws -> [String: Tensor<Scalar>] {
        var state = ["step": try Self.savedCount(steps)]
        for (name, moment) in moments {
            state["exp_avg.\(name)"] = moment.first
            state["exp_avg_sq.\(name)"] = moment.second
        }
        return state
    }

    public mutating func restoreState(_ state: [String: Tensor<Scalar>]) throws {
        let entries = try Self.entries(state, prefixes: ["exp_avg", "exp_avg_sq"], optimizer: "Adam")
        let (first, second) = (entries["exp_avg"] ?? [:], entries["exp_avg_sq"] ?? [:])
        guard Set(first.keys) == Set(second.keys) else {
            throw QuantityError.invalidArgument(quantity: "Adam", reason: "saved state has first moments for \(first.keys.sorted()) but second moments for \(second.keys.sorted())")
        }
        guard first.isEmpty || state["step"] != nil else {
            throw QuantityError.invalidArgument(quantity: "Adam", reason: "saved state has moments but no 'step', which the bias correction needs")
        }
        steps = try Self.restoredCount(state, optimizer: "Adam")
        moments = Dictionary(uniqueKeysWithValues: first.map { ($0.key, ($0.value, second[$0.key]!)) })
    }
}
