/// The second moment `Σₙ gₙ ⊙ gₙ` of the individual gradients (BackPACK's `SumGradSquared`,
/// field `sum_grad_squared`, shape `θ`).
///
/// With one position per sample (a plain `Linear` layer), it is `(δ²)ᵀ(a²)` without forming the
/// gradients.
public struct SumGradSquared<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "sum_grad_squared" }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        try Self.secondMoment(context)
    }

    static func secondMoment(_ context: ParameterContext<Scalar>) throws -> Tensor<Scalar> {
        if try context.outerProductShape()?.positions == 1, let factors = try context.outerProductFactors() {
            let moment = try Einsum.evaluate("ngpa,ngpb->gab", factors.left.squared(), factors.right.squared())
            return try factors.toParameterLayout(moment.unsqueezed(at: 0)).squeezed(at: 0)
        }
        return try context.perSampleGradients().squaredSumAlongFirstAxis()
    }
}
