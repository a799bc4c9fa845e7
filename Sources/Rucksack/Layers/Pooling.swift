/// `MaxPoolNd` (N = 1, 2, 3), `return_indices=False`.
public struct MaxPool<Scalar: TensorScalar>: Layer {
    public let window: PoolingWindow

    public init(_ window: PoolingWindow) throws {
        self.window = window
        try window.validate(layer: "MaxPool\(window.spatialRank)d")
    }

    public var typeName: String { "MaxPool\(window.spatialRank)d" }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try forward(input).output
    }

    /// Keeps where the window maxima are, so that the products need not search the windows again.
    public func forward(_ input: Tensor<Scalar>) throws -> LayerIO<Scalar> {
        let maxima = try self.maxima(input)
        let output = try Tensor(shape: outputShape(input.shape), scalars: maxima.values)
        return LayerIO(input: input, output: output, saved: maxima.indices)
    }

    /// Gathers each window's winner from every stacked vector.
    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try Tensor(shape: [m.shape[0]] + io.output.shape, scalars: m.pickedFromBlocks(of: io.input.count, at: winners(io)))
    }

    /// Adds each output entry onto its window's winner.
    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        // Every window lies in one plane of one sample: the planes are independent parts.
        let planes = io.input.shape.prefix(2).reduce(1, *)
        return try Tensor(shape: [m.shape[0]] + io.input.shape, scalars: m.addedIntoBlocks(of: io.input.count, at: winners(io), parts: planes))
    }

    /// `(1/N) Σₙ Pₙᵀ M Pₙ`, with `Pₙ` selecting sample `n`'s window maxima: each entry of `M` is
    /// added where its two winners meet, `N D_out²` additions instead of two rounds of products.
    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let outFeatures = try checkSandwich(m, features: io.output)
        let samples = io.batchSize, inFeatures = io.input.count / Swift.max(samples, 1)
        let count = try MemoryBudget.check([inFeatures, inFeatures], of: Scalar.self, operation: "\(typeName) sandwich")
        let winners = try winners(io)
        var sum = [Scalar](repeating: 0, count: count)
        m.scalars.withUnsafeBufferPointer { m in
            sum.withUnsafeMutableBufferPointer { sum in
                for sample in 0..<samples {
                    let local = winners[(sample * outFeatures)..<((sample + 1) * outFeatures)].map { $0 - sample * inFeatures }
                    for (i, row) in local.enumerated() {
                        let (target, source) = (row * inFeatures, i * outFeatures)
                        for (j, column) in local.enumerated() { sum[target + column] += m[source + j] }
                    }
                }
            }
        }
        return try Tensor(shape: [inFeatures, inFeatures], scalars: sum) / Scalar(Swift.max(samples, 1))
    }

    /// Where the window maxima are, as kept by ``forward(_:)``, or found anew for a hand-made `io`.
    private func winners(_ io: LayerIO<Scalar>) throws -> [Int] {
        if let winners = io.saved as? [Int], winners.count == io.output.count { return winners }
        return try maxima(io.input).indices
    }

    /// Each window's maximum and its flat input index (padding never wins: PyTorch requires
    /// padding of at most half the kernel, so every window meets the input).
    private func maxima(_ input: Tensor<Scalar>) throws -> (values: [Scalar], indices: [Int]) {
        guard input.rank == window.spatialRank + 2 else {
            throw LayerError.shapeMismatch(
                layer: typeName, operation: "input", expected: [-1, -1] + [Int](repeating: -1, count: window.spatialRank), got: input.shape)
        }
        let maxima = try input.windowMaxima(window.geometry(inputSize: Array(input.shape.dropFirst(2))))
        if maxima.indices.contains(-1) {
            throw LayerError.invalidHyperparameter(layer: typeName, name: "padding", reason: "a window covers only padding")
        }
        return maxima
    }

    private func outputShape(_ inputShape: [Int]) throws -> [Int] {
        try Array(inputShape.prefix(2)) + window.outputSize(inputSize: Array(inputShape.dropFirst(2)))
    }
}

/// `AvgPoolNd` (N = 1, 2, 3) with `count_include_pad` and `ceil_mode`; `divisor_override` unsupported.
public struct AvgPool<Scalar: TensorScalar>: AffineInInput {
    public let window: PoolingWindow
    public let countIncludePad: Bool

    public init(_ window: PoolingWindow, countIncludePad: Bool = true) throws {
        guard window.dilation.allSatisfy({ $0 == 1 }) else {
            throw LayerError.invalidHyperparameter(layer: "AvgPool\(window.spatialRank)d", name: "dilation", reason: "is not a parameter of average pooling")
        }
        self.window = window
        self.countIncludePad = countIncludePad
        try window.validate(layer: "AvgPool\(window.spatialRank)d")
    }

    public var typeName: String { "AvgPool\(window.spatialRank)d" }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try pooled(input, outputShape: Array(input.shape.prefix(2)) + window.outputSize(inputSize: Array(input.shape.dropFirst(2))))
    }

    /// The map is linear, so its Jacobian product is the map itself on every stacked vector.
    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try pooled(m.flattened(from: 0, to: 1), outputShape: [m.shape[0]] + io.output.shape)
    }

    /// Spreads each output value, divided by its window's divisor, over the window (col2im).
    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        let spatial = Array(io.input.shape.dropFirst(2))
        let geometry = try window.geometry(inputSize: spatial)
        let taps = window.kernelSize.reduce(1, *)
        let planeCount = m.shape[0] * io.output.shape[0] * io.output.shape[1]
        let positions = io.output.shape.dropFirst(2).reduce(1, *)
        let scaled = try m.reshaped([planeCount, 1, positions]) / divisors(spatial).reshaped([1, 1, positions])
        let folded = try scaled.expanded(to: [planeCount, taps, positions]).folded(geometry, channels: 1, inputSize: spatial)
        return try folded.reshaped([m.shape[0]] + io.input.shape)
    }

    /// Window sums over divisors, for `[B, C, *S]`.
    private func pooled(_ x: Tensor<Scalar>, outputShape: [Int]) throws -> Tensor<Scalar> {
        let spatial = Array(x.shape.dropFirst(2))
        let columns = try planes(x, spatialRank: window.spatialRank).unfolded(window.geometry(inputSize: spatial))
        let sums = try columns.sum(axes: [1])
        return try (sums / divisors(spatial).unsqueezed(at: 0)).reshaped(outputShape)
    }

    /// The number of elements each window averages: real inputs only, or also the padding
    /// (but never the extra room `ceil_mode` adds), as PyTorch counts them.
    private func divisors(_ spatial: [Int]) throws -> Tensor<Scalar> {
        let geometry = try window.geometry(inputSize: spatial)
        let ones = try Tensor<Scalar>(repeating: 1, shape: [1, 1] + spatial)
        guard countIncludePad else { return try ones.unfolded(geometry).sum(axes: [0, 1]) }
        let padded = try ones.padded(window.padding.map { (before: $0, after: $0) }, value: 1)
        let extra = zip(geometry.paddingAfter, window.padding).map { $0 - $1 }
        let shifted = try ConvolutionGeometry(
            kernelSize: window.kernelSize, stride: window.stride, padding: extra.map { _ in 0 }, paddingAfter: extra)
        return try padded.unfolded(shifted).sum(axes: [0, 1])
    }
}
