import Synchronization

/// `ConvNd` and `ConvTransposeNd` (N = 1, 2, 3) with PyTorch's hyper-parameters and weight layouts.
///
/// Both are the same linear map on unfolded inputs: with `U = unfold(x)` split into groups,
/// `y[n, g] = A_g · U[n, g] + b`, where the group matrix `A_g` is the weight of group `g`
/// (`[C_out/G, C_in/G · ∏k]`) for a convolution and its per-tap transpose for a transposed
/// convolution. Every derivative product is an einsum with `U` or a fold, except where a 2-D
/// convolution with 3×3 or 5×5 kernels and stride 1 runs by Winograd's algorithm (see
/// ``winogradMinimumChannels``): the same map with fewer operations and no `U`.
public struct Convolution<Scalar: TensorScalar>: AffineInInput {
    public let geometry: ConvolutionGeometry
    /// `weight` `[C_out, C_in/G, *k]` (transposed: `[C_in, C_out/G, *k]`) and `bias` `[C_out]` (or `nil`).
    public private(set) var parameters: WeightAndBias<Scalar>
    public var weight: Tensor<Scalar> { parameters.weight }
    public var bias: Tensor<Scalar>? { parameters.bias }
    public let inChannels: Int
    public let outChannels: Int

    /// A layer with the given geometry and parameters; the channel counts follow from the weight.
    public init(geometry: ConvolutionGeometry, weight: Tensor<Scalar>, bias: Tensor<Scalar>?) throws {
        let name = (geometry.transposed ? "ConvTranspose" : "Conv") + "\(geometry.spatialRank)d"
        let groups = geometry.groups
        guard weight.rank == geometry.spatialRank + 2, Array(weight.shape.dropFirst(2)) == geometry.kernelSize else {
            throw LayerError.shapeMismatch(layer: name, operation: "weight", expected: [-1, -1] + geometry.kernelSize, got: weight.shape)
        }
        if geometry.transposed {
            guard weight.shape[0] % groups == 0 else {
                throw LayerError.invalidHyperparameter(layer: name, name: "groups", reason: "\(groups) does not divide in_channels \(weight.shape[0])")
            }
            (inChannels, outChannels) = (weight.shape[0], weight.shape[1] * groups)
        } else {
            guard weight.shape[0] % groups == 0 else {
                throw LayerError.invalidHyperparameter(layer: name, name: "groups", reason: "\(groups) does not divide out_channels \(weight.shape[0])")
            }
            (inChannels, outChannels) = (weight.shape[1] * groups, weight.shape[0])
        }
        if let bias, bias.shape != [outChannels] {
            throw LayerError.shapeMismatch(layer: name, operation: "bias", expected: [outChannels], got: bias.shape)
        }
        self.geometry = geometry
        parameters = WeightAndBias(weight: weight, bias: bias)
    }

    /// A layer with zero parameters of PyTorch's shapes for these channel counts.
    public init(inChannels: Int, outChannels: Int, geometry: ConvolutionGeometry, bias: Bool = true) throws {
        let g = geometry.groups
        let leading = geometry.transposed ? [inChannels, outChannels / Swift.max(g, 1)] : [outChannels, inChannels / Swift.max(g, 1)]
        guard inChannels % g == 0, outChannels % g == 0 else {
            throw LayerError.invalidHyperparameter(
                layer: geometry.transposed ? "ConvTranspose" : "Conv", name: "groups",
                reason: "\(g) must divide in_channels \(inChannels) and out_channels \(outChannels)")
        }
        try self.init(geometry: geometry, weight: Tensor(zeros: leading + geometry.kernelSize),
                      bias: bias ? Tensor(zeros: [outChannels]) : nil)
    }

    public var typeName: String { (geometry.transposed ? "ConvTranspose" : "Conv") + "\(geometry.spatialRank)d" }
    public var parameterNames: [String] { parameters.names }

    public func parameter(_ name: String) throws -> Tensor<Scalar> { try parameters.get(name, layer: typeName) }

    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        try parameters.set(name, to: value, layer: typeName)
    }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try forward(input).output
    }

    /// Keeps the unfolded input (up to ``keptColumnsLimit`` bytes), so that the parameter
    /// products need not unfold it again. The output comes from Winograd's algorithm where
    /// ``winogradMinimumChannels`` says, and the input is then unfolded only when a parameter
    /// product first needs it; otherwise the output is the product with the unfolded input.
    public func forward(_ input: Tensor<Scalar>) throws -> LayerIO<Scalar> {
        try checkInput(input.shape)
        let c = CheckedArithmetic("unfold")
        let outSize = try geometry.outputSize(inputSize: Array(input.shape.dropFirst(2)))
        let columnBytes = try ([input.shape[0], inChannels, MemoryLayout<Scalar>.stride] + geometry.kernelSize + outSize).reduce(1, c.product)
        let kept = columnBytes <= Self.keptColumnsLimit
        var y: Tensor<Scalar>, saved: SavedColumns?
        if winogradPadding != nil {
            (y, saved) = (try weightMap(input), kept ? SavedColumns(nil) : nil)
        } else {
            let columns = try groupedColumns(input)
            (y, saved) = (try linearMap(columns, inputShape: input.shape), kept ? SavedColumns(columns) : nil)
        }
        if let bias { y = try y.addingAlongChannels(bias) }
        return LayerIO(input: input, output: y, saved: saved)
    }

    /// The most memory the forward pass spends on keeping unfolded inputs per layer: 256 MiB.
    public static var keptColumnsLimit: Int { 256 << 20 }

    /// The unfolded input of the forward pass, or, where the forward pass did not unfold it,
    /// the place for it once the first parameter product has: the copies of a `LayerIO` share it.
    final class SavedColumns: Sendable {
        private let columns: Mutex<Tensor<Scalar>?>

        init(_ columns: Tensor<Scalar>?) { self.columns = Mutex(columns) }

        /// The kept columns, or `make()`'s, kept from now on.
        func columns(making make: () throws -> Tensor<Scalar>) throws -> Tensor<Scalar> {
            try columns.withLock { kept in
                if let kept { return kept }
                let made = try make()
                kept = made
                return made
            }
        }
    }

    /// `unfold(input)` grouped, for the samples `subsampling`: kept by the forward pass, made on
    /// first use and kept where the forward pass left room for it, or made anew.
    func groupedColumns(_ io: LayerIO<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        if let saved = io.saved as? SavedColumns {
            return try saved.columns { try groupedColumns(io.input) }.samples(subsampling)
        }
        return try groupedColumns(io.input.samples(subsampling))
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        let stacked = try m.flattened(from: 0, to: 1)
        if winogradPadding != nil { return try weightMap(stacked).reshaped([m.shape[0]] + io.output.shape) }
        // About C_in·∏k unfolded entries for each of a sample's outputs per channel.
        let taps = geometry.kernelSize.reduce(1, *)
        let columnsPerRow = io.output.count / Swift.max(io.batchSize, 1) * inChannels * taps / Swift.max(outChannels, 1)
        let y = try Self.chunked(rows: stacked.shape[0], elementsPerRow: columnsPerRow) { rows in
            let part = try stacked.sliced(axis: 0, range: rows)
            return try linearMap(groupedColumns(part), inputShape: part.shape)
        }
        return try y.reshaped([m.shape[0]] + io.output.shape)
    }

    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        let stacked = m.shape[0] * m.shape[1]
        if let (before, after) = winogradPadding {
            let back = try m.flattened(from: 0, to: 1)
                .winogradConvolution(kernels: weight, paddingBefore: before, paddingAfter: after, adjoint: true)
            return try back.reshaped([m.shape[0]] + io.input.shape)
        }
        let g = geometry.groups
        let grouped = try m.reshaped([stacked, g, outChannels / g, -1])
        let matrices = try groupMatrices(weight)
        let positions = grouped.shape[3]
        let folded = try Self.chunked(rows: stacked, elementsPerRow: matrices.shape[2] * g * positions) { rows in
            let columns = try Einsum.evaluate("gok,ngol->ngkl", matrices, grouped.sliced(axis: 0, range: rows))
            return try columns.reshaped([rows.count, -1, positions])
                .folded(geometry, channels: inChannels, inputSize: Array(io.input.shape.dropFirst(2)))
        }
        return try folded.reshaped([m.shape[0]] + io.input.shape)
    }

    /// `body` over consecutive row ranges whose unfolded columns stay near 2²⁴ elements
    /// (64 MiB in Float), the results joined along the first axis: a stack of many vectors
    /// (an exact curvature factor has `C·N` of them) never unfolds whole, and the chunks reuse
    /// the same freed memory.
    private static func chunked(rows: Int, elementsPerRow: Int, _ body: (Range<Int>) throws -> Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Tensor.joinedAlongFirstAxis(rows: rows, step: Swift.max(1, (1 << 24) / Swift.max(elementsPerRow, 1)), body)
    }

    public func parameterJacobianProduct(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkParameterStack(m, parameter: name)
        let v = m.shape[0]
        let outShape = [v] + io.output.shape
        if name == "bias" {
            return try m.reshaped([v, 1, outChannels] + [Int](repeating: 1, count: geometry.spatialRank)).expanded(to: outShape)
        }
        if let (before, after) = winogradPadding {
            // The input convolved with all V weights at once, stacked along the output channels:
            // Winograd's algorithm, no unfolded input.
            let y = try io.input.winogradConvolution(kernels: m.flattened(from: 0, to: 1), paddingBefore: before, paddingAfter: after)
            let stacked = try y.reshaped([io.batchSize, v] + Array(io.output.shape.dropFirst()))
            return v == 1 ? try stacked.reshaped(outShape) : try stacked.permuted([1, 0] + Array(2..<stacked.rank))
        }
        // Each stacked weight becomes group matrices; contract them with the unfolded input.
        let matrices = try Tensor.concatenated(
            (0..<v).map { try groupMatrices(m.sliced(axis: 0, range: $0..<($0 + 1)).squeezed(at: 0)).unsqueezed(at: 0) }, axis: 0)
        let y = try Einsum.evaluate("vgok,ngkl->vngol", matrices, groupedColumns(io, subsampling: nil))
        return try y.reshaped(outShape)
    }

    public func gradientTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, parameterTangents: [String: Tensor<Scalar>], io: LayerIO<Scalar>
    ) throws -> GradientTangentTerms<Scalar> {
        try bilinearTangentTerms(outputGradient: outputGradient, inputTangent: inputTangent, weightTangent: parameterTangents["weight"], io: io) {
            try Convolution(geometry: geometry, weight: $0, bias: nil)
        }
    }

    public func transposedParameterJacobianProduct(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let (shape, input) = try transposedParameterProductArguments(m, parameter: name, io: io, subsampling: subsampling)
        let samples = input.shape[0]
        let v = m.shape[0]
        let g = geometry.groups
        let perSample = sumOverSamples ? [v] : [v, samples]
        let grouped = try m.reshaped([v, samples, g, outChannels / g, -1])
        if name == "bias" {
            return try grouped.sum(axes: sumOverSamples ? [1, 4] : [4]).reshaped(perSample + shape)
        }
        if let (before, after) = winogradPadding {
            // By Winograd's algorithm backwards: no unfolded input, fewer operations.
            if sumOverSamples && v == 1 {
                return try input.winogradKernelGradient(
                    outputGradient: m.squeezed(at: 0), kernelSize: geometry.kernelSize[0], paddingBefore: before, paddingAfter: after)
                    .unsqueezed(at: 0)
            }
            if io.output.shape.dropFirst(2).reduce(1, *) >= Self.winogradPerSamplePositions {
                let gradients = try input.winogradPerSampleKernelGradients(
                    outputGradients: m, kernelSize: geometry.kernelSize[0], paddingBefore: before, paddingAfter: after)
                return sumOverSamples ? try gradients.sum(axes: [1]) : gradients
            }
        }
        let columns = try groupedColumns(io, subsampling: subsampling)
        if sumOverSamples && v == 1 {
            // The gradient: one product accumulating over the samples, none formed per sample.
            let summed = try grouped.reshaped(Array(grouped.shape.dropFirst()))
                .matmulSummedOverLeadingAxis(columns, transposingOther: true)
            return try weightLayout(summed.unsqueezed(at: 0), leading: perSample)
        }
        // Per sample, the product needs no rearranging of the (large) unfolded input; summing the
        // small per-sample results afterwards is cheaper than transposing it.
        let perSampleGradient = try Einsum.evaluate("vngol,ngkl->vngok", grouped, columns)
        let gradient = sumOverSamples ? try perSampleGradient.sum(axes: [1]) : perSampleGradient
        return try weightLayout(gradient, leading: perSample)
    }

    /// The weight's squared gradients summed over the columns, and over the samples unless
    /// `perSample` (one group), by a product per sample and column with the unfolded input,
    /// squared as it comes (`Tensor.summedSquaredProducts(_:_:perSample:backend:)`);
    /// `nil` for the bias, for grouped convolutions, and where per-sample gradients run by
    /// Winograd's algorithm (`winogradPerSamplePositions`).
    public func summedSquaredParameterGradients(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, perSample: Bool) throws -> Tensor<Scalar>? {
        let positions = io.output.shape.dropFirst(2).reduce(1, *)
        guard name == "weight", geometry.groups == 1,
              winogradPadding == nil || positions < Self.winogradPerSamplePositions else { return nil }
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "weight summed squared gradients")
        let columns = try groupedColumns(io, subsampling: nil)
        let factor = try m.reshaped([m.shape[0], io.batchSize, outChannels, positions])
        let squares = try Tensor.summedSquaredProducts(factor, columns.reshaped([io.batchSize, -1, positions]), perSample: perSample)
        let leading = perSample ? [io.batchSize] : [1]
        let result = try weightLayout(squares.reshaped(leading + [1] + squares.shape.suffix(2)), leading: leading)
        return perSample ? result : try result.squeezed(at: 0)
    }

    // MARK: - The group-matrix view

    private func checkInput(_ shape: [Int]) throws {
        guard shape.count == geometry.spatialRank + 2, shape[1] == inChannels else {
            throw LayerError.shapeMismatch(
                layer: typeName, operation: "input",
                expected: [-1, inChannels] + [Int](repeating: -1, count: geometry.spatialRank), got: shape)
        }
    }

    /// The fewest channels, in and out, for which a layer's forward pass and its input Jacobian
    /// products run by Winograd's algorithm (F(2×2, r×r), or F(4×4, 3×3) for larger outputs;
    /// `Tensor.winogradConvolution(kernels:paddingBefore:paddingAfter:adjoint:backend:)`):
    /// 2-D convolutions with r×r kernels, r = 3 or 5, stride and dilation 1, one group and
    /// padding at most r − 1. Such a layer's weight gradient summed over the samples and its
    /// products with weight tangents run so too and, from 256 output positions (16×16) on, its
    /// per-sample weight gradients (both as F(2×2, r×r)); its other per-sample weight products
    /// use the unfolded input. With fewer channels the products are too thin to gain over one
    /// product with the unfolded input.
    public static var winogradMinimumChannels: Int { 16 }

    /// The fewest output positions for which a Winograd layer forms per-sample weight gradients
    /// by Winograd's algorithm too: with fewer, each sample's (r + 1)² products are too short.
    static var winogradPerSamplePositions: Int { 256 }

    /// The padding (before, after) when this layer runs by Winograd's algorithm (see
    /// ``winogradMinimumChannels``); `nil` for every other layer.
    var winogradPadding: (before: [Int], after: [Int])? {
        let g = geometry, r = g.kernelSize.first ?? 0
        guard !g.transposed, g.spatialRank == 2, Tensor<Scalar>.winogradKernelSizes.contains(r), g.kernelSize == [r, r],
              g.stride == [1, 1], g.dilation == [1, 1], g.groups == 1,
              Swift.min(inChannels, outChannels) >= Self.winogradMinimumChannels,
              (g.paddingBefore + g.paddingAfter).allSatisfy({ $0 <= r - 1 }) else { return nil }
        return (g.paddingBefore, g.paddingAfter)
    }

    /// The weight-part of the map, `x ↦ A · unfold(x)`, of inputs `x`.
    private func weightMap(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        if let (before, after) = winogradPadding {
            return try x.winogradConvolution(kernels: weight, paddingBefore: before, paddingAfter: after)
        }
        return try linearMap(groupedColumns(x), inputShape: x.shape)
    }

    /// The weight-part of the map, `x ↦ A · unfold(x)`, from the grouped columns of `x: inputShape`.
    private func linearMap(_ columns: Tensor<Scalar>, inputShape: [Int]) throws -> Tensor<Scalar> {
        let y = try Einsum.evaluate("gok,ngkl->ngol", groupMatrices(weight), columns)
        let outSize = try geometry.outputSize(inputSize: Array(inputShape.dropFirst(2)))
        return try y.reshaped([inputShape[0], outChannels] + outSize)
    }

    /// `unfold(x)` as `[B, G, C_in/G · ∏k, L]`.
    private func groupedColumns(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let columns = try x.unfolded(geometry)
        let g = geometry.groups
        return try columns.reshaped([columns.shape[0], g, columns.shape[1] / g, columns.shape[2]])
    }

    /// A weight-shaped tensor as group matrices `[G, C_out/G, C_in/G · ∏k]`.
    private func groupMatrices(_ w: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let g = geometry.groups
        let taps = geometry.kernelSize.reduce(1, *)
        if !geometry.transposed { return try w.reshaped([g, outChannels / g, inChannels / g * taps]) }
        return try w.reshaped([g, inChannels / g, outChannels / g, taps]).permuted([0, 2, 1, 3])
            .reshaped([g, outChannels / g, inChannels / g * taps])
    }

    /// Group-matrix gradients `[*leading, G, C_out/G, C_in/G · ∏k]` in the weight's own layout.
    func weightLayout(_ a: Tensor<Scalar>, leading: [Int]) throws -> Tensor<Scalar> {
        let g = geometry.groups
        if !geometry.transposed { return try a.reshaped(leading + weight.shape) }
        let taps = geometry.kernelSize.reduce(1, *)
        let l = leading.count
        let split = try a.reshaped(leading + [g, outChannels / g, inChannels / g, taps])
        let order = Array(0..<l) + [l, l + 2, l + 1, l + 3]
        return try split.permuted(order).reshaped(leading + weight.shape)
    }
}
