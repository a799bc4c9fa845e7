/// `AdaptiveAvgPoolNd` (N = 1, 2, 3): output bin `i` of an axis averages inputs
/// `⌊i·in/out⌋ ..< ⌈(i+1)·in/out⌉`, as PyTorch. The map is separable: one averaging matrix per axis.
public struct AdaptiveAvgPool<Scalar: TensorScalar>: AffineInInput {
    public let outputSize: [Int]

    public init(outputSize: [Int]) throws {
        guard (1...3).contains(outputSize.count), outputSize.allSatisfy({ $0 > 0 }) else {
            throw LayerError.invalidHyperparameter(
                layer: "AdaptiveAvgPool\(outputSize.count)d", name: "output_size", reason: "\(outputSize) needs 1 to 3 positive sizes")
        }
        self.outputSize = outputSize
    }

    public var typeName: String { "AdaptiveAvgPool\(outputSize.count)d" }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard input.rank == outputSize.count + 2 else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "input", expected: [-1, -1] + outputSize.map { _ in -1 }, got: input.shape)
        }
        try MemoryBudget.check(Array(input.shape.prefix(2)) + outputSize, of: Scalar.self, operation: typeName)
        return try applyAveraging(input, transposed: false, spatial: Array(input.shape.dropFirst(2)))
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try applyAveraging(m, transposed: false, spatial: Array(io.input.shape.dropFirst(2)))
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        return try applyAveraging(m, transposed: true, spatial: Array(io.input.shape.dropFirst(2)))
    }

    /// Multiplies each trailing spatial axis by its averaging matrix `A [out, in]` (or `Aᵀ`).
    private func applyAveraging(_ x: Tensor<Scalar>, transposed: Bool, spatial: [Int]) throws -> Tensor<Scalar> {
        var result = x
        let lead = x.rank - outputSize.count
        for axis in 0..<outputSize.count {
            let matrix = try averagingMatrix(input: spatial[axis], output: outputSize[axis])
            var order = Array(0..<result.rank)
            order.remove(at: lead + axis)
            order.append(lead + axis)
            let moved = try result.permuted(order)
            // [*, in] · Aᵀ → [*, out], or [*, out] · A → [*, in].
            let product = try moved.matmul(matrix, transposingOther: !transposed)
            var inverse = [Int](repeating: 0, count: order.count)
            for (position, original) in order.enumerated() { inverse[original] = position }
            result = try product.permuted(inverse)
        }
        return result
    }

    private func averagingMatrix(input: Int, output: Int) throws -> Tensor<Scalar> {
        // Within the budget, `bin · input` below cannot overflow either.
        var weights = [Scalar](repeating: 0, count: try MemoryBudget.check([output, input], of: Scalar.self, operation: typeName))
        for bin in 0..<output {
            let start = bin * input / output, end = ((bin + 1) * input + output - 1) / output
            for i in start..<end { weights[bin * input + i] = 1 / Scalar(end - start) }
        }
        return try Tensor(shape: [output, input], scalars: weights)
    }
}
