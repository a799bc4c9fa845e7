/// Read-outs shared by the quantities that propagate factors `S: [V, N, *out]` (the GGN and
/// Hessian diagonals and square roots): the parameter's transposed Jacobian applied to every
/// column of every sample.
extension ParameterContext {
    /// `J_θᵀ sᵥₘ` for every column and the samples `subsampling` (all when `nil`): `[V, M, *θ]`.
    func columnGradients(_ factor: Tensor<Scalar>, subsampling: [Int]? = nil) throws -> Tensor<Scalar> {
        let columns = try subsampling.map { try factor.indexSelected(axis: 1, indices: $0) } ?? factor
        return try visit.layer.transposedParameterJacobianProduct(
            columns, parameter: parameter, io: visit.io, sumOverSamples: false, subsampling: subsampling)
    }

    /// `Σᵥ (J_θᵀ sᵥₙ)²` summed over the samples (`θ`), or per sample (`[N, *θ]`).
    ///
    /// With one position per sample (a `Linear` layer without extra axes) this is the closed
    /// form `Σₙ (Σᵥ sᵥₙ²) ⊗ xₙ²`; otherwise the columns' gradients are formed a chunk of
    /// columns at a time, so that no more than about 16 M elements are alive at once.
    func squaredColumnGradients(_ factor: Tensor<Scalar>, perSample: Bool) throws -> Tensor<Scalar> {
        let v = factor.shape[0], n = batchSize
        if let layer = visit.layer as? any OuterProductStructure<Scalar>, try layer.outerProductShape(parameter: parameter, io: visit.io).positions == 1 {
            let left = try layer.outerProductLeft(factor.flattened(from: 0, to: 1), parameter: parameter, io: visit.io)
            let summedSquares = try left.squared().reshaped([v, n] + Array(left.shape.dropFirst())).sum(axes: [0])
            let right = try layer.outerProductRight(parameter: parameter, io: visit.io, subsampling: nil).squared()
            if perSample {
                return try layer.parameterLayout(Einsum.evaluate("ngpa,ngpb->ngab", summedSquares, right), parameter: parameter)
            }
            let summed = try Einsum.evaluate("ngpa,ngpb->gab", summedSquares, right).unsqueezed(at: 0)
            return try layer.parameterLayout(summed, parameter: parameter).squeezed(at: 0)
        }
        let perColumn = try Swift.max(1, n * visit.layer.parameter(parameter).count)
        let chunk = Swift.max(1, (1 << 24) / perColumn)
        var total: Tensor<Scalar>?
        for start in stride(from: 0, to: v, by: chunk) {
            let columns = try factor.sliced(axis: 0, range: start..<Swift.min(v, start + chunk))
            let squares = try columnGradients(columns).squared().sum(axes: perSample ? [0] : [0, 1])
            total = try total.map { try $0 + squares } ?? squares
        }
        return try total ?? Tensor(zeros: (perSample ? [n] : []) + visit.layer.parameter(parameter).shape)
    }
}
