/// The per-sample parameter gradient of many layers is a sum of outer products over positions:
/// `gₙ[g] = Σ_p left[n, g, p] ⊗ right[n, g, p]` for each group `g`. Linear layers sum over their
/// extra axes, convolutions over output positions (with unfolded inputs on the right).
///
/// Quantities use it to get norms and dot products of per-sample gradients from Gram matrices of
/// the factors, without forming the gradients, when that is cheaper.
public struct OuterProductFactors<Scalar: TensorScalar>: Sendable {
    /// `[N, G, P, A]`.
    public var left: Tensor<Scalar>
    /// `[N, G, P, B]`.
    public var right: Tensor<Scalar>
    /// Maps gradients in matrix form `[K, G, A, B]` to the parameter's layout `[K, *θ]`.
    public var toParameterLayout: @Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>

    public init(left: Tensor<Scalar>, right: Tensor<Scalar>, toParameterLayout: @escaping @Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>) {
        self.left = left
        self.right = right
        self.toParameterLayout = toParameterLayout
    }
}

/// The sizes of ``OuterProductFactors``, known before any factor is formed.
public struct OuterProductShape: Sendable, Equatable {
    public var groups: Int
    public var positions: Int
    public var leftFeatures: Int
    public var rightFeatures: Int

    public init(groups: Int, positions: Int, leftFeatures: Int, rightFeatures: Int) {
        (self.groups, self.positions, self.leftFeatures, self.rightFeatures) = (groups, positions, leftFeatures, rightFeatures)
    }
}

/// A layer whose parameter gradients have the structure of ``OuterProductFactors``.
///
/// The two sides come separately: the left factors from any stack of output-shaped tensors (the
/// output gradients, or the columns of a loss-Hessian factor), the right ones from the input.
public protocol OuterProductStructure<Scalar>: Layer {
    /// The factors' sizes for `parameter`, so a quantity can decide whether to form them.
    func outerProductShape(parameter: String, io: LayerIO<Scalar>) throws -> OuterProductShape

    /// The left factors `[M, G, P, A]` of a stack `m: [M, *out]` of output-shaped tensors.
    func outerProductLeft(_ m: Tensor<Scalar>, parameter: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// The left factors summed over positions, `[M, G·A]` (what Kronecker factors need).
    func positionSummedLeft(_ m: Tensor<Scalar>, parameter: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// The right factors `[M, G, P, B]` of the samples `subsampling` (all when `nil`).
    func outerProductRight(parameter: String, io: LayerIO<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar>

    /// Maps matrices `[K, G, A, B]` to the parameter's layout `[K, *θ]`.
    func parameterLayout(_ matrices: Tensor<Scalar>, parameter: String) throws -> Tensor<Scalar>
}

extension OuterProductStructure {
    public func positionSummedLeft(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let left = try outerProductLeft(m, parameter: name, io: io).sum(axes: [2])
        return try left.reshaped([left.shape[0], -1])
    }

    /// The factors of the per-sample gradients of `parameter` for the output gradient `δ: [M, *out]`
    /// of the samples `subsampling` (all when `nil`).
    public func outerProductFactors(
        _ outputGradient: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?
    ) throws -> OuterProductFactors<Scalar> {
        let layer = self
        return OuterProductFactors(
            left: try outerProductLeft(outputGradient, parameter: name, io: io),
            right: try outerProductRight(parameter: name, io: io, subsampling: subsampling)
        ) { try layer.parameterLayout($0, parameter: name) }
    }
}

extension Linear: OuterProductStructure {
    public func outerProductShape(parameter name: String, io: LayerIO<Scalar>) throws -> OuterProductShape {
        let samples = Swift.max(io.batchSize, 1)
        return OuterProductShape(
            groups: 1, positions: io.input.count / Swift.max(samples * inFeatures, 1), leftFeatures: outFeatures,
            rightFeatures: try parameter(name).rank == 1 ? 1 : inFeatures)
    }

    public func outerProductLeft(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let samples = m.shape.first ?? 0
        return try m.reshaped([samples, 1, m.count / Swift.max(samples * outFeatures, 1), outFeatures])
    }

    public func outerProductRight(parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        let input = try io.input.samples(subsampling)
        let samples = input.shape[0]
        let positions = input.count / Swift.max(samples * inFeatures, 1)
        return try parameter(name).rank == 1 ? Tensor(repeating: 1, shape: [samples, 1, positions, 1])
                                              : input.reshaped([samples, 1, positions, inFeatures])
    }

    public func parameterLayout(_ matrices: Tensor<Scalar>, parameter name: String) throws -> Tensor<Scalar> {
        try matrices.reshaped([matrices.shape[0]] + parameter(name).shape)
    }
}

extension Convolution: OuterProductStructure {
    public func outerProductShape(parameter name: String, io: LayerIO<Scalar>) throws -> OuterProductShape {
        let g = geometry.groups
        return OuterProductShape(
            groups: g, positions: io.output.shape.dropFirst(2).reduce(1, *), leftFeatures: outChannels / g,
            rightFeatures: try parameter(name).rank == 1 ? 1 : inChannels / g * geometry.kernelSize.reduce(1, *))
    }

    /// `m` as `[M, G, C_out/G, L] → [M, G, L, C_out/G]`: positions are the output positions.
    public func outerProductLeft(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let g = geometry.groups
        return try m.reshaped([m.shape.first ?? 0, g, outChannels / g, -1]).permuted([0, 1, 3, 2])
    }

    /// Sums the contiguous position axis in place of transposing it first.
    public func positionSummedLeft(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try m.reshaped([m.shape.first ?? 0, outChannels, -1]).sum(axes: [2])
    }

    public func outerProductRight(parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        let samples = subsampling?.count ?? io.batchSize
        if try parameter(name).rank == 1 {
            return try Tensor(repeating: 1, shape: [samples, geometry.groups, io.output.shape.dropFirst(2).reduce(1, *), 1])
        }
        return try groupedColumns(io, subsampling: subsampling).permuted([0, 1, 3, 2])
    }

    public func parameterLayout(_ matrices: Tensor<Scalar>, parameter name: String) throws -> Tensor<Scalar> {
        let leading = [matrices.shape[0]]
        return try parameter(name).rank == 1 ? matrices.reshaped(leading + parameter(name).shape) : weightLayout(matrices, leading: leading)
    }
}
