/// A layer applying a scalar function `f` to each element. Conformers give `f`, `f'` and `f''`;
/// every product follows from them (BackPACK's `ElementwiseDerivatives` idea).
public protocol ElementwiseActivation<Scalar>: Layer {
    /// `f(x)` for one element.
    func value(_ x: Scalar) -> Scalar
    /// `f'(x)`.
    func derivative(_ x: Scalar) -> Scalar
    /// `f''(x)`; ignored when ``Layer/inputHessianStructure`` is `.zero`.
    func secondDerivative(_ x: Scalar) -> Scalar

    /// `f` on a whole tensor; activations with a tensor kernel in the core override it for speed.
    func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar>
    /// `f'` on a whole tensor.
    func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar>
    /// `m ⊙ f'(x)` for a stack `m` whose trailing axes are `x`'s: every Jacobian product.
    /// Activations with a core kernel override it so that `f'(x)` is never formed.
    func scaledByDerivatives(_ m: Tensor<Scalar>, at x: Tensor<Scalar>) throws -> Tensor<Scalar>
}

extension ElementwiseActivation {
    public func secondDerivative(_ x: Scalar) -> Scalar { 0 }
    public func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.map(value) }
    public func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.map(derivative) }
    public func scaledByDerivatives(_ m: Tensor<Scalar>, at x: Tensor<Scalar>) throws -> Tensor<Scalar> { try m * derivatives(x) }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try values(input)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try scaledByDerivative(m, io: io, operation: "Jacobian product")
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try scaledByDerivative(m, io: io, operation: "transposed Jacobian product")
    }

    public func residualDiagonal(outputGradient: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        guard inputHessianStructure == .diagonal else { return try Tensor(zeros: io.input.shape) }
        guard outputGradient.shape == io.output.shape else {
            throw LayerError.shapeMismatch(
                layer: typeName, operation: "residual diagonal", expected: io.output.shape, got: outputGradient.shape)
        }
        return try io.input.map(secondDerivative) * outputGradient
    }

    /// `M ⊙ (1/N) Σₙ f'(xₙ) f'(xₙ)ᵀ`: each sample's Jacobian is `diag(f'(xₙ))`.
    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let features = try checkSandwich(m, features: io.input)
        let slopes = try derivatives(io.input).reshaped([io.batchSize, features])
        return try m * slopes.gram(scaledBy: 1 / Scalar(Swift.max(io.batchSize, 1)))
    }

    /// `M ⊙ f̄' f̄'ᵀ` with the mean slope `f̄' = (1/N) Σₙ f'(xₙ)`.
    public func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let features = try checkSandwich(m, features: io.input)
        let slope = try derivatives(io.input).reshaped([io.batchSize, features]).sum(axes: [0]).reshaped([features, 1]) / Scalar(Swift.max(io.batchSize, 1))
        return try m * slope.matmul(slope, transposingOther: true)
    }

    /// The Jacobian is diagonal and symmetric: both products multiply by `f'(x)`.
    private func scaledByDerivative(_ m: Tensor<Scalar>, io: LayerIO<Scalar>, operation: String) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: operation)
        return try scaledByDerivatives(m, at: io.input)
    }
}
