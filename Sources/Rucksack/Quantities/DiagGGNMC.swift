/// A Monte Carlo estimate of ``DiagGGNExact`` from `mcSamples` labels per sample drawn from the
/// model's predictive distribution (BackPACK's `DiagGGNMC`, field `diag_ggn_mc`, shape `θ`).
///
/// The draws come from a `RandomStream` seeded with `seed` in every pass: the same seed gives
/// bit-identical results, and quantities with equal `mcSamples` and `seed` share their draws
/// (and one propagation). Pass a different seed each step (the step number, say) for fresh draws.
public struct DiagGGNMC<Scalar: TensorScalar>: Quantity {
    public var mcSamples: Int
    public var seed: UInt64
    public init(mcSamples: Int = 1, seed: UInt64 = 0) { (self.mcSamples, self.seed) = (mcSamples, seed) }
    public var field: String { "diag_ggn_mc" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.monteCarlo(samples: mcSamples, seed: seed)) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.squaredColumnGradients(arrived, perSample: false)
    }
}
