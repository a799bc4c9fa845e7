/// Kronecker factors of the GGN block of each parameter from the exact loss-Hessian factor
/// (BackPACK's `KFLR`, field `kflr`): `[B, A]` for a weight, `[B]` for a bias; the layout and
/// the rule for weight sharing are those of ``KroneckerFactors`` and BackPACK spec §3.7. For a
/// batch of one sample without weight sharing, `B ⊗ A` is the exact GGN block.
///
/// Unlike BackPACK, it runs through parallel branches, grouped convolutions, `Linear` with
/// extra axes and every activation.
public struct KFLR<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "kflr" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.exact) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> KroneckerFactors<Scalar> {
        try context.kroneckerFactors(outputFactor: arrived)
    }

    /// Factors are at most the parameter's size squared per side; counted as the parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.kroneckerFactors(parameterShapes)
    }
}
