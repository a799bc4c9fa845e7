extension ParameterContext {
    /// The parameter's exact curvature block from the curvature at the layer output:
    /// `V ↦ J_θᵀ H_out(J_θ V)`, summed over the samples. Parameterised layers are affine in each
    /// parameter tensor, so no second derivative w.r.t. the parameter adds to it.
    func curvatureBlock(_ arrived: OutputCurvature<Scalar>) throws -> CurvatureBlock<Scalar> {
        let (layer, io, name) = (visit.layer, visit.io, parameter)
        let shape = try layer.parameter(name).shape
        let product = arrived.product.map { outer in
            { @Sendable (v: Tensor<Scalar>) throws -> Tensor<Scalar> in
                try layer.transposedParameterJacobianProduct(
                    outer(layer.parameterJacobianProduct(v, parameter: name, io: io)), parameter: name, io: io, sumOverSamples: true, subsampling: nil)
            }
        }
        return CurvatureBlock(parameterShape: shape, outputElements: io.output.count, product: product)
    }
}
