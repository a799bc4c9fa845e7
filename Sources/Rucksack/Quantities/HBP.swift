/// Each parameter's curvature block approximated by Hessian backpropagation of batch-averaged
/// matrices (bpexts' `hbp`, HBP spec §1; field `hbp`), as a ``CurvatureBlock``.
///
/// From the matrix `H̄` at the layer output (``HessianBackpropagation``) the block is
/// `J̄_θᵀ H̄ J̄_θ` with the batch-averaged parameter Jacobian (`averageParameterJacobian`, the
/// default: `H̄ ⊗ x̄x̄ᵀ` for a linear weight) or `(1/N) Σₙ J_θₙᵀ H̄ J_θₙ` (`H̄ ⊗ E[xxᵀ]`).
/// With `maxBlocks`, the parameter's rows (its first axis) are cut into at most that many
/// chunks of `⌈rows / maxBlocks⌉` as `torch.chunk` does, and the block keeps only the diagonal
/// blocks of the chunks. Every mode is exact for a batch of one sample without splitting.
/// Unlike bpexts it runs for every loss and reduction, for every layer and through parallel
/// branches, and never forms the unfolded-input Hessian of a convolution.
public struct HBP<Scalar: TensorScalar>: Quantity {
    public var curvature: CurvatureKind
    public var averageInputJacobian: Bool
    public var averageParameterJacobian: Bool
    public var maxBlocks: Int?

    /// The defaults are bpexts' `HBPSequential`: both Jacobians averaged, no splitting.
    public init(curvature: CurvatureKind = .ggn, averageInputJacobian: Bool = true, averageParameterJacobian: Bool = true, maxBlocks: Int? = nil) {
        self.curvature = curvature
        self.averageInputJacobian = averageInputJacobian
        self.averageParameterJacobian = averageParameterJacobian
        self.maxBlocks = maxBlocks
    }

    public var field: String { "hbp" }
    public var propagation: HessianBackpropagation<Scalar> { HessianBackpropagation(curvature, averageInputJacobian: averageInputJacobian) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> CurvatureBlock<Scalar> {
        if let maxBlocks, maxBlocks < 1 {
            throw QuantityError.invalidArgument(quantity: field, reason: "maxBlocks must be at least 1, got \(maxBlocks)")
        }
        return try context.hbpBlock(arrived, averageParameterJacobian: averageParameterJacobian, maxBlocks: maxBlocks)
    }
}
