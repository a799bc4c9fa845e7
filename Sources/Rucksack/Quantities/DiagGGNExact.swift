/// The diagonal of the generalized Gauss-Newton matrix `G = Σₙ Jₙᵀ ∇²_{fₙ}L Jₙ` of the reduced
/// loss (BackPACK's `DiagGGNExact`, field `diag_ggn_exact`, shape `θ`), from the exact
/// loss-Hessian factor: `C` columns per sample, `C` the output features.
public struct DiagGGNExact<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "diag_ggn_exact" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.exact) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.squaredColumnGradients(arrived, perSample: false)
    }
}
