/// The Monte Carlo version of ``SqrtGGNExact`` (BackPACK's `SqrtGGNMC`, field `sqrt_ggn_mc`,
/// shape `[M, M', *θ]` for `M = mcSamples` and `M'` samples), with the draws of ``DiagGGNMC``
/// for the same `mcSamples` and `seed`.
public struct SqrtGGNMC<Scalar: TensorScalar>: Quantity {
    public var mcSamples: Int
    public var seed: UInt64
    public var subsampling: [Int]?
    public init(mcSamples: Int = 1, seed: UInt64 = 0, subsampling: [Int]? = nil) {
        (self.mcSamples, self.seed, self.subsampling) = (mcSamples, seed, subsampling)
    }
    public var field: String { "sqrt_ggn_mc" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.monteCarlo(samples: mcSamples, seed: seed)) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        return try context.columnGradients(arrived, subsampling: subsampling)
    }

    /// `[M, M', *θ]` per parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.perColumnAndSample(parameterShapes, columns: mcSamples, samples: subsampling?.count ?? batchSize)
    }
}
