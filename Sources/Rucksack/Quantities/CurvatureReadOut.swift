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
    /// form `Σₙ (Σᵥ sᵥₙ²) ⊗ xₙ²`; a layer's own
    /// ``Layer/summedSquaredParameterGradients(_:parameter:io:perSample:)`` comes next (a
    /// convolution's weight). Otherwise the columns' gradients are formed a block of samples
    /// and columns at a time (``ColumnGradientBlocks``, a few MiB, so they stay in cache), and
    /// their squares are summed as each block comes, without forming them: a large `[V, N, θ]`
    /// stack never goes through memory.
    func squaredColumnGradients(_ factor: Tensor<Scalar>, perSample: Bool) throws -> Tensor<Scalar> {
        let v = factor.shape[0], n = batchSize
        if let layer = visit.layer as? any OuterProductStructure<Scalar>, try layer.outerProductShape(parameter: parameter, io: visit.io).positions == 1 {
            let left = try layer.outerProductLeft(factor.flattened(from: 0, to: 1), parameter: parameter, io: visit.io)
            let summedSquares = try left.reshaped([v, -1]).squaredSumAlongFirstAxis().reshaped([n] + Array(left.shape.dropFirst()))
            let right = try layer.outerProductRight(parameter: parameter, io: visit.io, subsampling: nil).squared()
            if perSample {
                return try layer.parameterLayout(Einsum.evaluate("ngpa,ngpb->ngab", summedSquares, right), parameter: parameter)
            }
            let summed = try Einsum.evaluate("ngpa,ngpb->gab", summedSquares, right).unsqueezed(at: 0)
            return try layer.parameterLayout(summed, parameter: parameter).squeezed(at: 0)
        }
        if let squares = try visit.layer.summedSquaredParameterGradients(factor, parameter: parameter, io: visit.io, perSample: perSample) {
            return squares
        }
        let shape = try visit.layer.parameter(parameter).shape
        let size = Swift.max(1, shape.reduce(1, *))
        // A stack that fits goes whole: blocks would copy the factor, larger than θ at wide layers.
        let block = Swift.max(1, ColumnGradientBlocks.elements)
        let whole = v * n * size <= 4 * block
        let columnsPerBlock = whole ? v : Swift.max(1, Swift.min(v, block / size))
        let samplesPerBlock = whole ? Swift.max(n, 1) : Swift.max(1, block / (columnsPerBlock * size))
        // The squares of a block of samples summed over the columns, `[samples, *θ]`, or over
        // the samples too, `θ`.
        func squares(samples range: Range<Int>) throws -> Tensor<Scalar> {
            let blockFactor = whole ? factor : try factor.sliced(axis: 1, range: range)
            var sum: Tensor<Scalar>?
            for column in stride(from: 0, to: v, by: columnsPerBlock) {
                let columns = whole ? blockFactor : try blockFactor.sliced(axis: 0, range: column..<Swift.min(v, column + columnsPerBlock))
                let gradients = try visit.layer.transposedParameterJacobianProduct(
                    columns, parameter: parameter, io: visit.io, sumOverSamples: false, subsampling: whole ? nil : Array(range))
                let summed = try gradients.reshaped(perSample ? [columns.shape[0], -1] : [-1, size]).squaredSumAlongFirstAxis()
                sum = try sum.map { try $0 + summed } ?? summed
            }
            let blockShape = perSample ? [range.count] + shape : shape
            return try sum?.reshaped(blockShape) ?? Tensor(zeros: blockShape)
        }
        guard n > 0 else { return try Tensor(zeros: perSample ? [0] + shape : shape) }
        if perSample {
            return try Tensor.joinedAlongFirstAxis(rows: n, step: samplesPerBlock) { try squares(samples: $0) }
        }
        var total: Tensor<Scalar>?
        for first in stride(from: 0, to: n, by: samplesPerBlock) {
            let blockTotal = try squares(samples: first..<Swift.min(n, first + samplesPerBlock))
            total = try total.map { try $0 + blockTotal } ?? blockTotal
        }
        return try total ?? Tensor(zeros: shape)
    }
}

/// How many elements of per-column parameter gradients the diagonal read-outs (`DiagGGNExact`,
/// `DiagGGNMC`, `DiagHessian` and their per-sample forms) form at once, where a layer has no
/// closed form (per-sample diagonals of convolutions, `Linear` with extra axes): blocks of samples and columns of about
/// this size, squared and summed as they come; a stack of up to four times this goes whole.
/// The default, 2²⁰ (4 MiB in `Float`), keeps a block in cache; a smaller value saves memory,
/// a larger one makes fewer and larger products.
public enum ColumnGradientBlocks {
    @TaskLocal public static var elements: Int = 1 << 20
}
