/// The per-sample terms of ``DiagGGNExact``, `diag(Jₙᵀ ∇²_{fₙ}L Jₙ)` (BackPACK's
/// `BatchDiagGGNExact`, field `diag_ggn_exact_batch`, shape `[N, *θ]`); they sum to it.
public struct BatchDiagGGNExact<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "diag_ggn_exact_batch" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.exact) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.squaredColumnGradients(arrived, perSample: true)
    }

    /// `[N, *θ]` per parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.perSample(parameterShapes, samples: batchSize)
    }
}
