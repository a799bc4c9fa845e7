/// Squared L2 norms of the individual gradients, `‖gₙ‖²` per parameter tensor (BackPACK's
/// `BatchL2Grad`, field `batch_l2`, shape `[M]`).
///
/// Where the gradients are sums of outer products over positions, the norms come from Gram
/// matrices of the factors, `Σ_{p,q} (δ_p·δ_q)(a_p·a_q)` per group, when that costs less than
/// forming the gradients. Groups are kept apart: BackPACK 1.7.1 adds cross-group terms for
/// grouped convolutions, which is wrong; Rucksack follows the definition.
public struct BatchL2Grad<Scalar: TensorScalar>: Quantity {
    public var subsampling: [Int]?
    public init(subsampling: [Int]? = nil) { self.subsampling = subsampling }
    public var field: String { "batch_l2" }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        if let shape = try context.outerProductShape(), gramIsCheaper(shape), let factors = try context.outerProductFactors(subsampling) {
            if shape.positions == 1 {  // one outer product per sample and group: ‖l ⊗ r‖² = ‖l‖² ‖r‖²
                func norms(_ f: Tensor<Scalar>) throws -> Tensor<Scalar> {  // [N, G, 1, F] → [N, G]
                    try f.reshaped([f.shape[0] * f.shape[1], -1]).squaredNormsAlongFirstAxis().reshaped([f.shape[0], f.shape[1]])
                }
                return try (norms(factors.left) * norms(factors.right)).sum(axes: [1])
            }
            // Per sample and group: Σ (L Lᵀ) ⊙ (R Rᵀ) over the position pairs.
            let left = try Einsum.evaluate("ngpa,ngqa->ngpq", factors.left, factors.left)
            let right = try Einsum.evaluate("ngpb,ngqb->ngpq", factors.right, factors.right)
            return try (left * right).sum(axes: [1, 2, 3])
        }
        return try context.perSampleGradients(subsampling).squaredNormsAlongFirstAxis()
    }

    /// Gram matrices cost `P²(A + B)` per sample and group, the gradients `P·A·B`.
    private func gramIsCheaper(_ f: OuterProductShape) -> Bool {
        f.positions * (f.leftFeatures + f.rightFeatures) < f.leftFeatures * f.rightFeatures
    }

    /// `[M]` per parameter tensor.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.total(parameterShapes) { _ in subsampling?.count ?? batchSize }
    }
}
