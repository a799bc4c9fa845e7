/// The Newton-style optimizer of the HBP paper (bpexts' `CGNewton`, spec §5.2): for each
/// parameter block, conjugate gradients solve `[(1 − α) C + α I] d = −g`, and the parameter moves
/// by `learningRate · d`. `C` is the block that `curvature` reads out (exact products such as
/// ``GGNMP``, ``HMP`` or ``PCHMP``); `α ∈ [0, 1]` pulls the system toward the identity.
///
/// Each step solves from zero, as bpexts does. Compute ``curvature`` in the same pass as the
/// gradient and hand the results to ``step(_:results:)``.
public struct CGNewton<Curvature: Quantity>: Sendable where Curvature.Value == CurvatureBlock<Curvature.Scalar> {
    public typealias Scalar = Curvature.Scalar
    public var curvature: Curvature
    public var learningRate: Scalar
    public var alpha: Scalar
    public var relativeTolerance: Scalar
    public var absoluteTolerance: Scalar
    /// At most this many products per block and step; `nil`: the block's size.
    public var maxIterations: Int?

    public init(
        curvature: Curvature, learningRate: Scalar, alpha: Scalar,
        relativeTolerance: Scalar = 1e-5, absoluteTolerance: Scalar = 1e-8, maxIterations: Int? = nil
    ) throws {
        guard learningRate > 0, (0...1).contains(alpha) else {
            throw QuantityError.invalidArgument(quantity: "CGNewton", reason: "needs a positive learning rate and alpha in [0, 1], got \(learningRate) and \(alpha)")
        }
        self.curvature = curvature
        self.learningRate = learningRate
        self.alpha = alpha
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxIterations = maxIterations
    }

    /// Updates every parameter from the gradient and the curvature block in `results`; returns
    /// each block's solution, to see how conjugate gradients stopped.
    @discardableResult
    public func step(_ model: inout Model<Scalar>, results: BackpropResults<Scalar>) throws -> [String: ConjugateGradients.Solution<Scalar>] {
        var products: [String: (Tensor<Scalar>) throws -> Tensor<Scalar>] = [:]
        for name in model.parameterNames {
            guard let block = results[curvature, name] else {
                throw QuantityError.invalidArgument(quantity: "CGNewton", reason: "the results lack \(curvature.field) of \(name); compute `curvature` in the pass")
            }
            products[name] = block.apply
        }
        return try step(&model, gradients: results.gradients, products: products)
    }

    /// Updates every parameter from its gradient and its block's product with a stack of vectors
    /// `[V, *θ] → [V, *θ]` (for data-parallel training: blocks averaged over processes).
    @discardableResult
    public func step(
        _ model: inout Model<Scalar>, gradients: [String: Tensor<Scalar>], products: [String: (Tensor<Scalar>) throws -> Tensor<Scalar>]
    ) throws -> [String: ConjugateGradients.Solution<Scalar>] {
        var solutions: [String: ConjugateGradients.Solution<Scalar>] = [:]
        for name in model.parameterNames {
            guard let gradient = gradients[name], let product = products[name] else {
                throw QuantityError.invalidArgument(quantity: "CGNewton", reason: "the gradient or the curvature product of \(name) is missing")
            }
            let (alpha, shape) = (alpha, gradient.shape)
            let solution = try ConjugateGradients.solve({ v in
                let curved = try product(v.unsqueezed(at: 0)).squeezed(at: 0)
                return try curved * (1 - alpha) + v * alpha
            }, -gradient, relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance, maxIterations: maxIterations)
            try model.setParameter(name, to: model.parameter(name) + solution.x.reshaped(shape) * learningRate)
            solutions[name] = solution
        }
        return solutions
    }
}
