/// The diagonal of the Hessian of the reduced loss w.r.t. each parameter (BackPACK's
/// `DiagHessian`, field `diag_h`, shape `θ`), by Hessian backpropagation of signed factors
/// (``SignedHessianFactors``): the GGN diagonal plus the residual terms of curved activations.
///
/// Unlike BackPACK, it runs through parallel branches and past batch normalization (in
/// evaluation mode an affine map, whose residual terms vanish).
public struct DiagHessian<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "diag_h" }
    public var propagation: SignedHessianFactors<Scalar> { SignedHessianFactors() }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: [SignedHessianFactors<Scalar>.Term]) throws -> Tensor<Scalar> {
        try Self.signedSum(context, arrived, perSample: false)
    }

    /// `Σⱼ sⱼ Σᵥ (J_θᵀ Sⱼ)²`.
    static func signedSum(_ context: ParameterContext<Scalar>, _ terms: [SignedHessianFactors<Scalar>.Term], perSample: Bool) throws -> Tensor<Scalar> {
        var total = try Tensor<Scalar>(zeros: (perSample ? [context.batchSize] : []) + context.visit.layer.parameter(context.parameter).shape)
        for term in terms {
            total = try total + context.squaredColumnGradients(term.factor, perSample: perSample) * term.sign
        }
        return total
    }
}
