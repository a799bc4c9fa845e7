/// A square root of the generalized Gauss-Newton matrix (BackPACK's `SqrtGGNExact`, field
/// `sqrt_ggn_exact`, shape `[C, M, *θ]`): `J_θᵀ` applied to every column of the exact loss-Hessian
/// factor, per sample. Flattened to `[C·M, |θ|]` and stacked over parameters it is `Vᵀ` with
/// `G = V Vᵀ` (the samples `subsampling` only, when given; the reduction factor stays that of
/// the whole batch).
public struct SqrtGGNExact<Scalar: TensorScalar>: Quantity {
    public var subsampling: [Int]?
    public init(subsampling: [Int]? = nil) { self.subsampling = subsampling }
    public var field: String { "sqrt_ggn_exact" }
    public var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.exact) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        return try context.columnGradients(arrived, subsampling: subsampling)
    }

    /// `[C, M, *θ]` per parameter, `C` the output features.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int, outputFeatures: Int) -> Int? {
        ResultSize.perColumnAndSample(parameterShapes, columns: outputFeatures, samples: subsampling?.count ?? batchSize)
    }
}
