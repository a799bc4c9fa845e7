/// A Newton step with a diagonal curvature: each parameter moves by
/// `−learningRate · g / (c + damping)`, with `c` the diagonal that `curvature` reads out
/// (``DiagGGNExact``, ``DiagGGNMC`` or any other non-negative diagonal).
public struct DiagonalNewton<Curvature: Quantity>: Sendable where Curvature.Value == Tensor<Curvature.Scalar> {
    public typealias Scalar = Curvature.Scalar
    public var curvature: Curvature
    public var learningRate: Scalar
    public var damping: Scalar

    public init(curvature: Curvature, learningRate: Scalar, damping: Scalar) throws {
        guard learningRate > 0, damping > 0 else {
            throw QuantityError.invalidArgument(quantity: "diagonal Newton", reason: "needs a positive learning rate and damping, got \(learningRate) and \(damping)")
        }
        self.curvature = curvature
        self.learningRate = learningRate
        self.damping = damping
    }

    public func step(_ model: inout Model<Scalar>, results: BackpropResults<Scalar>) throws {
        for name in model.parameterNames {
            guard let gradient = results.gradients[name], let diagonal = results[curvature, name] else {
                throw QuantityError.invalidArgument(quantity: "diagonal Newton", reason: "the results lack the gradient or \(curvature.field) of \(name); compute `curvature` in the pass")
            }
            try model.setParameter(name, to: model.parameter(name) - gradient / (diagonal + damping) * learningRate)
        }
    }
}

