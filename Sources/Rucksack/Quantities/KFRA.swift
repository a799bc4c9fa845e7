/// Kronecker factors from the batch-averaged GGN propagated as one dense matrix per layer
/// output (``BatchAveragedHessian``; BackPACK's `KFRA`, field `kfra`): `[B, A]` for a weight,
/// `[B]` for a bias, with `B` the matrix at the layer output summed over both position axes.
/// For a batch of one sample without weight sharing, `B ⊗ A` is the exact GGN block.
///
/// The dense matrix at a layer output has `(features per sample)²` entries; where three of them
/// (what a sandwich holds at once) would not fit the memory limit, the pass stops with
/// ``QuantityError/denseMatrixTooLarge(layer:quantity:shape:bytes:limit:)`` before allocating.
/// The layers' sandwiches use their structure: one sample for layers affine in their input,
/// `M ⊙ mean f'f'ᵀ` for element-wise activations, `M` itself for `Flatten`, a scatter of `M`
/// for max pooling.
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
