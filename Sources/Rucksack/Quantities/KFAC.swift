/// ``KFLR`` with the Monte Carlo loss-Hessian factor of `mcSamples` draws per sample (BackPACK's
/// `KFAC`, field `kfac`), seeded as ``DiagGGNMC``: `B ⊗ A` converges to KFLR's as `mcSamples`
/// grows.
public struct KFAC<Scalar: TensorScalar>: Quantity {
    public var mcSamples: Int
    public var seed: UInt64
    public init(mcSamples: Int = 1, seed: UInt64 = 0) { (self.mcSamples, self.seed) = (mcSamples, seed) }
    public var field: String { "kfac" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.monteCarlo(samples: mcSamples, seed: seed)) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> KroneckerFactors<Scalar> {
        try context.kroneckerFactors(outputFactor: arrived)
    }

    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.kroneckerFactors(parameterShapes)
    }
}
