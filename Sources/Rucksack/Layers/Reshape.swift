/// `torch.nn.Flatten(start_dim=1, end_dim=-1)`: merges axes, keeping the batch axis.
public struct Flatten<Scalar: TensorScalar>: Layer {
    public var startDim: Int
    public var endDim: Int
    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
    }
    public var typeName: String { "Flatten" }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try input.flattened(from: startDim, to: endDim)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try m.reshaped([m.shape[0]] + io.output.shape)
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        return try m.reshaped([m.shape[0]] + io.input.shape)
    }

    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try identitySandwich(m, io: io)
    }

    public func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try identitySandwich(m, io: io)
    }
}

/// `torch.nn.Identity`.
public struct Identity<Scalar: TensorScalar>: Layer {
    public init() {}
    public var typeName: String { "Identity" }
    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> { input }
    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> { m }
    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> { m }
    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try identitySandwich(m, io: io)
    }

    public func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try identitySandwich(m, io: io)
    }
}
