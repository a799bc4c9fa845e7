/// Kronecker factors from the batch-averaged GGN propagated as one dense matrix per layer
/// output (``BatchAveragedHessian``; BackPACK's `KFRA`, field `kfra`): `[B, A]` for a weight,
/// `[B]` for a bias, with `B` the matrix at the layer output summed over both position axes.
/// For a batch of one sample without weight sharing, `B ⊗ A` is the exact GGN block.
///
/// The dense matrix at a layer output has `(features per sample)²` entries; where it would not
/// fit, the pass stops with ``QuantityError/denseMatrixTooLarge(layer:quantity:shape:bytes:limit:)``.
/// Unlike BackPACK, it runs through parallel branches (with the node's own sandwich), every
/// activation and `BCEWithLogitsLoss`.
public struct KFRA<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "kfra" }
    public var propagation: BatchAveragedHessian<Scalar> { BatchAveragedHessian() }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> KroneckerFactors<Scalar> {
        try context.kroneckerFactors(batchAveraged: arrived)
    }

    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.kroneckerFactors(parameterShapes)
    }
}
