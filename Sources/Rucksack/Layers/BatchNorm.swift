/// `BatchNormNd` (N = 1, 2, 3) in evaluation mode: `γ (x − μ) / √(σ² + ε) + β` per channel
/// (axis 1) with the running statistics. Training-mode statistics are not supported.
public struct BatchNorm<Scalar: TensorScalar>: AffineInInput {
    /// 1, 2 or 3, for the class name; `BatchNorm1d` accepts `[N, C]` and `[N, C, L]`.
    public let spatialRank: Int
    public let epsilon: Scalar
    public let momentum: Scalar
    /// `weight` (γ) and `bias` (β), or `nil` without `affine`.
    public private(set) var affine: WeightAndBias<Scalar>?
    public private(set) var runningMean: Tensor<Scalar>
    public private(set) var runningVariance: Tensor<Scalar>
    public private(set) var batchesTracked: Int64

    public init(numFeatures: Int, spatialRank: Int, epsilon: Scalar = 1e-5, momentum: Scalar = 0.1, affine: Bool = true) throws {
        guard numFeatures > 0, (1...3).contains(spatialRank) else {
            throw LayerError.invalidHyperparameter(layer: "BatchNorm\(spatialRank)d", name: "num_features", reason: "must be positive")
        }
        self.spatialRank = spatialRank
        self.epsilon = epsilon
        self.momentum = momentum
        self.affine = affine ? WeightAndBias(weight: try Tensor(repeating: 1, shape: [numFeatures]), bias: try Tensor(zeros: [numFeatures])) : nil
        runningMean = try Tensor(zeros: [numFeatures])
        runningVariance = try Tensor(repeating: 1, shape: [numFeatures])
        batchesTracked = 0
    }

    public var numFeatures: Int { runningMean.count }
    public var typeName: String { "BatchNorm\(spatialRank)d" }
    public var parameterNames: [String] { affine?.names ?? [] }
    public var bufferNames: [String] { ["running_mean", "running_var", "num_batches_tracked"] }

    public func parameter(_ name: String) throws -> Tensor<Scalar> {
        guard let affine else { throw LayerError.unknownParameter(layer: typeName, name: name) }
        return try affine.get(name, layer: typeName)
    }

    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        guard affine != nil else { throw LayerError.unknownParameter(layer: typeName, name: name) }
        try affine!.set(name, to: value, layer: typeName)
    }

    public func buffer(_ name: String) throws -> ArrayData {
        switch name {
        case "running_mean": return ArrayData(runningMean)
        case "running_var": return ArrayData(runningVariance)
        case "num_batches_tracked": return try ArrayData([batchesTracked], shape: [])
        default: throw LayerError.unknownParameter(layer: typeName, name: name)
        }
    }

    public mutating func setBuffer(_ name: String, to value: ArrayData) throws {
        func statistics() throws -> Tensor<Scalar> {
            let tensor: Tensor<Scalar> = try value.tensor()
            guard tensor.shape == [numFeatures] else {
                throw LayerError.shapeMismatch(layer: typeName, operation: name, expected: [numFeatures], got: tensor.shape)
            }
            return tensor
        }
        switch name {
        case "running_mean": runningMean = try statistics()
        case "running_var": runningVariance = try statistics()
        case "num_batches_tracked":
            let values = try value.int64Values()
            guard values.count == 1 else {
                throw LayerError.shapeMismatch(layer: typeName, operation: name, expected: [], got: value.shape)
            }
            batchesTracked = values[0]
        default: throw LayerError.unknownParameter(layer: typeName, name: name)
        }
    }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try checkInput(input.shape)
        let shifted = try input - broadcastable(runningMean, rank: input.rank)
        return try shifted * broadcastable(scale(), rank: input.rank) + broadcastable(affine?.bias ?? Tensor(zeros: [numFeatures]), rank: input.rank)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try m * broadcastable(scale(), rank: io.input.rank)
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        return try m * broadcastable(scale(), rank: io.input.rank)
    }

    public func parameterJacobianProduct(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkParameterStack(m, parameter: name)
        let perChannel = try m.reshaped([m.shape[0], 1, numFeatures] + [Int](repeating: 1, count: io.input.rank - 2))
        let target = [m.shape[0]] + io.output.shape
        return name == "weight" ? try perChannel * normalized(io.input) : try perChannel.expanded(to: target)
    }

    public func transposedParameterJacobianProduct(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let input = try transposedParameterProductArguments(m, parameter: name, io: io, subsampling: subsampling).input
        let weighted = name == "weight" ? try m * normalized(input) : m
        let spatialAxes = Array(3..<(io.input.rank + 1))
        return try weighted.sum(axes: (sumOverSamples ? [1] : []) + spatialAxes)
    }

    /// `y = (x − μ) γ/σ + β`: `Jᵀ δ` moves by `δ γ̇/σ`, the weight gradient by `Σ δ ẋ/σ`.
    public func gradientTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, parameterTangents: [String: Tensor<Scalar>], io: LayerIO<Scalar>
    ) throws -> GradientTangentTerms<Scalar> {
        let inverseDeviation = try broadcastable((runningVariance + epsilon).sqrt().map { 1 / $0 }, rank: io.input.rank)
        var terms = GradientTangentTerms<Scalar>()
        if let weightTangent = parameterTangents["weight"] {
            terms.input = try outputGradient * (broadcastable(weightTangent, rank: io.input.rank) * inverseDeviation)
        }
        if let inputTangent, affine != nil {
            terms.parameters["weight"] = try (outputGradient * inputTangent * inverseDeviation).sum(axes: [0] + Array(2..<io.input.rank))
        }
        return terms
    }

    /// `γ / √(σ² + ε)` per channel.
    private func scale() throws -> Tensor<Scalar> {
        let inverseDeviation = (runningVariance + epsilon).sqrt().map { 1 / $0 }
        return try affine.map { try $0.weight * inverseDeviation } ?? inverseDeviation
    }

    /// `(x − μ) / √(σ² + ε)`.
    private func normalized(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let inverseDeviation = (runningVariance + epsilon).sqrt().map { 1 / $0 }
        return try (x - broadcastable(runningMean, rank: x.rank)) * broadcastable(inverseDeviation, rank: x.rank)
    }

    /// A per-channel vector shaped `[C, 1, …]` to broadcast against `[…, N, C, *S]` of `rank`
    /// axes counted from the sample axis.
    private func broadcastable(_ channel: Tensor<Scalar>, rank: Int) throws -> Tensor<Scalar> {
        try channel.reshaped([numFeatures] + [Int](repeating: 1, count: Swift.max(rank - 2, 0)))
    }

    private func checkInput(_ shape: [Int]) throws {
        let ranks = spatialRank == 1 ? [2, 3] : [spatialRank + 2]
        guard ranks.contains(shape.count), shape[1] == numFeatures else {
            throw LayerError.shapeMismatch(
                layer: typeName, operation: "input", expected: [-1, numFeatures] + [Int](repeating: -1, count: spatialRank == 1 ? 1 : spatialRank), got: shape)
        }
    }
}
