/// Individual gradients `[g₁, …, g_N]`, each carrying the loss's reduction factor so that they
/// sum to the gradient (BackPACK's `BatchGrad`, field `grad_batch`, shape `[M, *θ]`).
///
/// With `subsampling`, only those samples, in that order (duplicates allowed).
public struct BatchGrad<Scalar: TensorScalar>: Quantity {
    public var subsampling: [Int]?
    public init(subsampling: [Int]? = nil) { self.subsampling = subsampling }
    public var field: String { "grad_batch" }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        return try context.perSampleGradients(subsampling)
    }

    /// `[M, *θ]` per parameter.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        let samples = subsampling?.count ?? batchSize
        return ResultSize.perSample(parameterShapes, samples: samples)
    }
}
