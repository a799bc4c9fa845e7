/// The per-sample terms of ``DiagHessian``, the diagonals of `∇²_θ (ρ ℓₙ)` (BackPACK's
/// `BatchDiagHessian`, field `diag_h_batch`, shape `[N, *θ]`); they sum to it.
public struct BatchDiagHessian<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "diag_h_batch" }
    public var propagation: SignedHessianFactors<Scalar> { SignedHessianFactors() }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: [SignedHessianFactors<Scalar>.Term]) throws -> Tensor<Scalar> {
        try DiagHessian.signedSum(context, arrived, perSample: true)
    }

    /// `[N, *θ]` per parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.perSample(parameterShapes, samples: batchSize)
    }
}
