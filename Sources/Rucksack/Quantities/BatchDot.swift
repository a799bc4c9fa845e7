/// Pairwise dot products of the individual gradients, `⟨gₙ, gₘ⟩` per parameter tensor
/// (field `batch_dot`, shape `[M, M]`). BackPACK dropped this quantity; its users asked for it.
///
/// Like ``BatchL2Grad``, it uses Gram matrices of outer-product factors when that is cheaper.
public struct BatchDot<Scalar: TensorScalar>: Quantity {
    public var subsampling: [Int]?
    public init(subsampling: [Int]? = nil) { self.subsampling = subsampling }
    public var field: String { "batch_dot" }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        let samples = subsampling?.count ?? context.batchSize
        if let f = try context.outerProductShape(),
           samples * f.positions * f.positions * (f.leftFeatures + f.rightFeatures)
            < f.positions * f.leftFeatures * f.rightFeatures + samples * f.leftFeatures * f.rightFeatures,
           let factors = try context.outerProductFactors(subsampling) {
            let left = try Einsum.evaluate("ngpa,mgqa->gnmpq", factors.left, factors.left)
            let right = try Einsum.evaluate("ngpb,mgqb->gnmpq", factors.right, factors.right)
            return try (left * right).sum(axes: [0, 3, 4])
        }
        let gradients = try context.perSampleGradients(subsampling)
        let flat = try gradients.reshaped([gradients.shape[0], -1])
        return try flat.matmul(flat, transposingOther: true)
    }

    /// `[M, M]` per parameter tensor, quadratic in the samples, and the individual gradients
    /// of the largest parameter, which may be formed on the way.
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        let samples = subsampling?.count ?? batchSize, c = CheckedArithmetic("result size")
        guard let largest = try? parameterShapes.map(ResultSize.count).max() ?? 0,
              let gradients = try? c.product(samples, largest),
              let products = ResultSize.total(parameterShapes, { _ in try c.product(samples, samples) }) else { return nil }
        return try? c.sum(products, gradients)
    }
}
