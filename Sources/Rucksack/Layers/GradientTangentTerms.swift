/// How a layer's backward results move along a tangent while the gradient at its output stays
/// fixed: the second-derivative terms of Pearlmutter's R-operator on the backward pass, which
/// whole-network Hessian–vector products add to the transposed Jacobians of the tangent of that
/// gradient.
public struct GradientTangentTerms<Scalar: TensorScalar>: Sendable {
    /// The change of `Jᵀ δ`, `[N, *in]`; `nil` for none.
    public var input: Tensor<Scalar>?
    /// The change of each parameter's `J_θᵀ δ` summed over the samples, shaped like the
    /// parameter; absent for none.
    public var parameters: [String: Tensor<Scalar>]

    public init(input: Tensor<Scalar>? = nil, parameters: [String: Tensor<Scalar>] = [:]) {
        self.input = input
        self.parameters = parameters
    }
}

extension Layer {
    /// Without parameters, only a curved element-wise map moves `Jᵀ δ`: by `f''(x) ⊙ δ ⊙ ẋ`.
    /// Parameterised layers must say how their parameters enter, so they throw unless they
    /// implement it.
    public func gradientTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, parameterTangents: [String: Tensor<Scalar>], io: LayerIO<Scalar>
    ) throws -> GradientTangentTerms<Scalar> {
        guard parameterNames.isEmpty else {
            throw LayerError.productUnavailable(
                layer: typeName, product: "second derivatives w.r.t. input and parameters", reason: "not implemented for this layer")
        }
        guard let inputTangent, inputHessianStructure == .diagonal else { return GradientTangentTerms() }
        return GradientTangentTerms(input: try residualDiagonal(outputGradient: outputGradient, io: io) * inputTangent)
    }

    /// The terms of a layer `y = A(W) x + b` linear in the input and in the weight separately:
    /// `Jᵀ δ` moves by the transposed Jacobian of the layer with weight `Ẇ`, the weight gradient by
    /// its transposed product with the input `ẋ`; the bias gradient does not move.
    func bilinearTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, weightTangent: Tensor<Scalar>?, io: LayerIO<Scalar>,
        withWeight: (Tensor<Scalar>) throws -> Self
    ) throws -> GradientTangentTerms<Scalar> {
        let delta = try outputGradient.unsqueezed(at: 0)
        var terms = GradientTangentTerms<Scalar>()
        if let weightTangent {
            terms.input = try withWeight(weightTangent).transposedJacobianProduct(delta, io: io).squeezed(at: 0)
        }
        if let inputTangent {
            terms.parameters["weight"] = try transposedParameterJacobianProduct(
                delta, parameter: "weight", io: LayerIO(input: inputTangent, output: io.output), sumOverSamples: true, subsampling: nil
            ).squeezed(at: 0)
        }
        return terms
    }
}
