/// The per-sample terms of ``DiagGGNMC`` (BackPACK's `BatchDiagGGNMC`, field
/// `diag_ggn_mc_batch`, shape `[N, *θ]`), with the same draws for the same `mcSamples` and `seed`.
public struct BatchDiagGGNMC<Scalar: TensorScalar>: Quantity {
    public var mcSamples: Int
    public var seed: UInt64
    public init(mcSamples: Int = 1, seed: UInt64 = 0) { (self.mcSamples, self.seed) = (mcSamples, seed) }
    public var field: String { "diag_ggn_mc_batch" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.monteCarlo(samples: mcSamples, seed: seed)) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.squaredColumnGradients(arrived, perSample: true)
    }

    /// `[N, *θ]` per parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.perSample(parameterShapes, samples: batchSize)
    }
}
