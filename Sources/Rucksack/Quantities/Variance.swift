/// The biased (`1/N`) variance of the individual gradients, `(1/N) Σₙ gₙ² − ((1/N) Σₙ gₙ)²`
/// (BackPACK's `Variance`, field `variance`, shape `θ`). The individual gradients carry the
/// reduction factor, so with `mean` this is `1/N²` times the variance of the raw per-sample
/// gradients, as in BackPACK.
public struct Variance<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "variance" }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        let n = Scalar(context.batchSize)
        let mean = try context.gradient() / n
        return try SumGradSquared.secondMoment(context) / n - mean.squared()
    }
}
