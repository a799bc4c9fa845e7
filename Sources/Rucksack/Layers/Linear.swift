/// `y = x Wᵀ + b` on the last axis of `[N, *, in]`, as `torch.nn.Linear`.
public struct Linear<Scalar: TensorScalar>: AffineInInput {
    /// `weight` `[out, in]` and `bias` `[out]` (or `nil`).
    public private(set) var parameters: WeightAndBias<Scalar>
    public var weight: Tensor<Scalar> { parameters.weight }
    public var bias: Tensor<Scalar>? { parameters.bias }

    /// A layer with the given parameters.
    public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?) throws {
        guard weight.rank == 2 else {
            throw LayerError.shapeMismatch(layer: "Linear", operation: "weight", expected: [-1, -1], got: weight.shape)
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw LayerError.shapeMismatch(layer: "Linear", operation: "bias", expected: [weight.shape[0]], got: bias.shape)
        }
        parameters = WeightAndBias(weight: weight, bias: bias)
    }

    /// A layer with zero parameters of PyTorch's shapes.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        try self.init(weight: Tensor(zeros: [outFeatures, inFeatures]), bias: bias ? Tensor(zeros: [outFeatures]) : nil)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    public var typeName: String { "Linear" }
    public var parameterNames: [String] { parameters.names }

    public func parameter(_ name: String) throws -> Tensor<Scalar> { try parameters.get(name, layer: typeName) }

    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        try parameters.set(name, to: value, layer: typeName)
    }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard input.rank >= 2, input.shape.last == inFeatures else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "input", expected: [-1, inFeatures], got: input.shape)
        }
        guard let bias else { return try input.matmul(weight, transposingOther: true) }
        return try input.matmul(weight, transposingOther: true, addingToEachRow: bias)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try m.matmul(weight, transposingOther: true)
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        return try m.matmul(weight)
    }

    public func parameterJacobianProduct(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkParameterStack(m, parameter: name)
        let v = m.shape[0]
        let outShape = [v] + io.output.shape
        if name == "bias" {  // the bias reaches every sample and position alike
            return try m.reshaped([v] + [Int](repeating: 1, count: io.output.rank - 1) + [outFeatures]).expanded(to: outShape)
        }
        return try Einsum.evaluate("voi,nsi->vnso", m, flatInput(io.input)).reshaped(outShape)
    }

    public func transposedParameterJacobianProduct(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let (shape, input) = try transposedParameterProductArguments(m, parameter: name, io: io, subsampling: subsampling)
        let samples = input.shape[0]
        let v = m.shape[0]
        let positions = input.count / Swift.max(samples * inFeatures, 1)
        let flatM = try m.reshaped([v, samples, positions, outFeatures])
        let perSample = sumOverSamples ? [v] : [v, samples]
        if name == "bias" {
            return try flatM.sum(axes: sumOverSamples ? [1, 2] : [2]).reshaped(perSample + shape)
        }
        let x = try flatInput(input)
        return try Einsum.evaluate(sumOverSamples ? "vnso,nsi->voi" : "vnso,nsi->vnoi", flatM, x)
    }

    public func gradientTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, parameterTangents: [String: Tensor<Scalar>], io: LayerIO<Scalar>
    ) throws -> GradientTangentTerms<Scalar> {
        try bilinearTangentTerms(outputGradient: outputGradient, inputTangent: inputTangent, weightTangent: parameterTangents["weight"], io: io) {
            try Linear(weight: $0, bias: nil)
        }
    }

    /// The input as `[N, positions, in]`, merging the extra axes.
    private func flatInput(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let samples = input.shape[0]
        return try input.reshaped([samples, input.count / Swift.max(samples * inFeatures, 1), inFeatures])
    }
}
