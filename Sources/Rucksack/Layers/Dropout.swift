/// `torch.nn.Dropout`: the identity in evaluation mode; in training mode, zeroes each element
/// with probability `p` and scales the rest by `1/(1 − p)`, with a mask drawn from `seed` so that
/// the forward pass and every derivative product see the same mask.
public struct Dropout<Scalar: TensorScalar>: Layer {
    public let probability: Scalar
    public let training: Bool
    public let seed: UInt64

    public init(p: Scalar = 0.5, training: Bool = false, seed: UInt64 = 0) throws {
        guard p >= 0, p <= 1 else {
            throw LayerError.invalidHyperparameter(layer: "Dropout", name: "p", reason: "\(p) must lie in [0, 1]")
        }
        probability = p
        self.training = training
        self.seed = seed
    }

    public var typeName: String { "Dropout" }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard training else { return input }
        return try input * mask(input.shape)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try scaled(m, io: io, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try scaled(m, io: io, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
    }

    private func scaled(_ m: Tensor<Scalar>, io: LayerIO<Scalar>, sampleShape: [Int], operation: String) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: sampleShape, operation: operation)
        return training ? try m * mask(io.input.shape) : m
    }

    /// `0` or `1/(1 − p)` per element (all zeros for `p = 1`, as PyTorch).
    private func mask(_ shape: [Int]) throws -> Tensor<Scalar> {
        var stream = RandomStream(seed: seed)
        let keep = try stream.bernoulli(probabilities: Tensor(repeating: 1 - probability, shape: shape))
        return probability < 1 ? keep / (1 - probability) : keep
    }
}
