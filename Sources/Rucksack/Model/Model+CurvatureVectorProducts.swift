extension Model {
    /// The Hessian of the reduced loss w.r.t. all parameters (cross-layer blocks included) times
    /// a vector given as one tensor per parameter name, shaped like the parameter; the result has
    /// the same form. Like `torch.autograd`'s double backward (and curvlinops'
    /// `HessianLinearOperator`), by Pearlmutter's R-operator: a forward walk with the tangent,
    /// the loss's Hessian product, and a backward walk that adds each layer's
    /// ``Layer/gradientTangentTerms(outputGradient:inputTangent:parameterTangents:io:)``.
    public func hessianVectorProduct(
        _ vector: [String: Tensor<Scalar>], input: Tensor<Scalar>, target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> [String: Tensor<Scalar>] {
        try curvatureVectorProduct(vector, input: input, target: target, loss: loss, name: "hvp", withSecondDerivatives: true)
    }

    /// The generalized Gauss–Newton matrix `Σₙ Jₙᵀ ∇²_{fₙ}L Jₙ` over all parameters times a
    /// vector of the same form as ``hessianVectorProduct(_:input:target:loss:)``'s: the forward
    /// Jacobian product, the loss's Hessian product and the transposed Jacobian product
    /// (curvlinops' `GGNLinearOperator`, BackPACK's `ggn_vector_product`).
    public func ggnVectorProduct(
        _ vector: [String: Tensor<Scalar>], input: Tensor<Scalar>, target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> [String: Tensor<Scalar>] {
        try curvatureVectorProduct(vector, input: input, target: target, loss: loss, name: "ggn_vp", withSecondDerivatives: false)
    }

    private func curvatureVectorProduct(
        _ vector: [String: Tensor<Scalar>], input: Tensor<Scalar>, target: LossTarget<Scalar>, loss: some Loss<Scalar>,
        name: String, withSecondDerivatives: Bool
    ) throws -> [String: Tensor<Scalar>] {
        try checkVector(vector, quantity: name)
        guard input.shape.first ?? 0 > 0 else { throw ModelError.emptyBatch(inputShape: input.shape) }
        FreedMemoryReuse.enable()
        let trace = try forward(input)
        _ = try loss.value(trace.output, target)
        // Forward: the tangent of every layer input (absent where it is zero) and of the output.
        var inputTangents: [String: Tensor<Scalar>] = [:]
        let outputTangent = try Self.forwardTangent(root, trace, nil, path: "") { visit, tangent in
            inputTangents[visit.path] = tangent
            var result = try tangent.map { try visit.layer.jacobianProduct($0, io: visit.io) }
            for parameter in visit.layer.parameterNames {
                let term = try visit.layer.parameterJacobianProduct(vector[visit.path + parameter]!.unsqueezed(at: 0), parameter: parameter, io: visit.io)
                result = try result.map { try $0 + term } ?? term
            }
            return result
        }
        // Backward: the gradient δ (for the second-derivative terms) and its tangent.
        var products: [String: Tensor<Scalar>] = [:]
        let seed = TangentState(
            delta: withSecondDerivatives ? try loss.gradient(trace.output, target) : nil,
            tangent: try outputTangent.map { try loss.hessianProduct($0, output: trace.output, target) })
        _ = try backward(trace, from: seed, step: { visit, state in
            let (layer, io, path) = (visit.layer, visit.io, visit.path)
            var terms = GradientTangentTerms<Scalar>()
            if let delta = state.delta {
                let parameters = Dictionary(uniqueKeysWithValues: layer.parameterNames.map { ($0, vector[path + $0]!) })
                terms = try layer.gradientTangentTerms(outputGradient: delta, inputTangent: inputTangents[path]?.squeezed(at: 0), parameterTangents: parameters, io: io)
            }
            for parameter in layer.parameterNames {
                var product = try state.tangent.map {
                    try layer.transposedParameterJacobianProduct($0, parameter: parameter, io: io, sumOverSamples: true, subsampling: nil).squeezed(at: 0)
                }
                if let term = terms.parameters[parameter] { product = try product.map { try $0 + term } ?? term }
                products[path + parameter] = product
            }
            guard !visit.nothingUpstream else { return TangentState(delta: nil, tangent: nil) }
            var tangent = try state.tangent.map { try layer.transposedJacobianProduct($0, io: io) }
            if let term = try terms.input?.unsqueezed(at: 0) { tangent = try tangent.map { try $0 + term } ?? term }
            let delta = try state.delta.map { try layer.transposedJacobianProduct($0.unsqueezed(at: 0), io: io).squeezed(at: 0) }
            return TangentState(delta: delta, tangent: tangent)
        }, merge: { branches, _, _ in
            func sum(_ tensors: [Tensor<Scalar>?]) throws -> Tensor<Scalar>? {
                let present = tensors.compactMap { $0 }
                return present.isEmpty ? nil : try present.added()
            }
            return TangentState(delta: try sum(branches.map(\.delta)), tangent: try sum(branches.map(\.tangent)))
        })
        return try Dictionary(uniqueKeysWithValues: parameterNames.map { name in
            (name, try products[name] ?? Tensor(zeros: parameter(name).shape))
        })
    }

    /// Throws unless `vector` holds exactly one tensor per parameter, shaped like it.
    private func checkVector(_ vector: [String: Tensor<Scalar>], quantity: String) throws {
        let names = parameterNames
        if let unknown = vector.keys.sorted().first(where: { !names.contains($0) }) {
            throw QuantityError.invalidArgument(quantity: quantity, reason: "the vector has an entry '\(unknown)', which is not a parameter of the model")
        }
        for name in names {
            let shape = try parameter(name).shape
            guard let entry = vector[name] else {
                throw QuantityError.invalidArgument(quantity: quantity, reason: "the vector has no entry for parameter '\(name)' (shape \(shape))")
            }
            guard entry.shape == shape else {
                throw QuantityError.invalidArgument(quantity: quantity, reason: "the vector's entry '\(name)' has shape \(entry.shape), the parameter \(shape)")
            }
        }
    }
}

/// What the backward walk of a curvature–vector product carries: the gradient at the current
/// point (only for the Hessian's second-derivative terms) and its tangent, a stack of one
/// `[1, N, *]`; `nil` where it is zero or not needed.
private struct TangentState<Scalar: TensorScalar> {
    var delta: Tensor<Scalar>?
    var tangent: Tensor<Scalar>?
}
