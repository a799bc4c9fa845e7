extension ParameterContext {
    /// The parameter block of Hessian backpropagation from the matrix `H̄` at the layer output,
    /// `[D_out, D_out]` over one sample's output features (see ``HBP``).
    func hbpBlock(_ outputMatrix: Tensor<Scalar>, averageParameterJacobian: Bool, maxBlocks: Int?) throws -> CurvatureBlock<Scalar> {
        let (layer, io, name) = (visit.layer, visit.io, parameter)
        let shape = try layer.parameter(name).shape
        let samples = io.batchSize, outSample = Array(io.output.shape.dropFirst())
        let features = outSample.reduce(1, *)
        /// `H̄` applied to each sample's part of a stack `[V, M, *out]`.
        @Sendable func curved(_ u: Tensor<Scalar>) throws -> Tensor<Scalar> {
            try u.reshaped([-1, features]).matmul(outputMatrix).reshaped(u.shape)
        }
        let whole: @Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>
        if averageParameterJacobian {
            // J̄_θ v = (1/N) Σₙ J_θₙ v, and J̄_θᵀ u the sum of J_θₙᵀ u over samples divided by N.
            whole = { v in
                let mean = try layer.parameterJacobianProduct(v, parameter: name, io: io).sum(axes: [1], keepingAxes: true) / Scalar(samples)
                let spread = try curved(mean).expanded(to: [v.shape[0], samples] + outSample)
                return try layer.transposedParameterJacobianProduct(spread, parameter: name, io: io, sumOverSamples: true, subsampling: nil) / Scalar(samples)
            }
        } else {
            whole = { v in
                let products = try layer.parameterJacobianProduct(v, parameter: name, io: io)
                return try layer.transposedParameterJacobianProduct(curved(products), parameter: name, io: io, sumOverSamples: true, subsampling: nil) / Scalar(samples)
            }
        }
        guard let maxBlocks, let rows = shape.first, maxBlocks > 1, rows > 1 else {
            return CurvatureBlock(parameterShape: shape, outputElements: io.output.count, product: whole)
        }
        let chunk = (rows + maxBlocks - 1) / maxBlocks
        let chunks = stride(from: 0, to: rows, by: chunk).map { $0..<Swift.min(rows, $0 + chunk) }
        // Each chunk's diagonal block: the whole block applied to the chunk's rows alone, read on them.
        return CurvatureBlock(parameterShape: shape, outputElements: io.output.count) { v in
            let parts = try chunks.map { range in
                var pieces: [Tensor<Scalar>] = []
                if range.lowerBound > 0 { pieces.append(try Tensor(zeros: [v.shape[0], range.lowerBound] + shape.dropFirst())) }
                pieces.append(try v.sliced(axis: 1, range: range))
                if range.upperBound < rows { pieces.append(try Tensor(zeros: [v.shape[0], rows - range.upperBound] + shape.dropFirst())) }
                return try whole(Tensor.concatenated(pieces, axis: 1)).sliced(axis: 1, range: range)
            }
            return try Tensor.concatenated(parts, axis: 1)
        }
    }
}
