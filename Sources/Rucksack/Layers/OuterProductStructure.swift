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
public protocol OuterProductStructure<Scalar>: Layer {
    /// The factors' sizes for `parameter`, so a quantity can decide whether to form them.
    func outerProductShape(parameter: String, io: LayerIO<Scalar>) throws -> OuterProductShape

    /// The factors of the per-sample gradients of `parameter` for the output gradient `δ: [M, *out]`
    /// of the samples `subsampling` (all when `nil`).
    func outerProductFactors(
        _ outputGradient: Tensor<Scalar>, parameter: String, io: LayerIO<Scalar>, subsampling: [Int]?
    ) throws -> OuterProductFactors<Scalar>
}

extension Linear: OuterProductStructure {
    public func outerProductShape(parameter name: String, io: LayerIO<Scalar>) throws -> OuterProductShape {
        let samples = Swift.max(io.batchSize, 1)
        return OuterProductShape(
            groups: 1, positions: io.input.count / Swift.max(samples * inFeatures, 1), leftFeatures: outFeatures,
            rightFeatures: try parameter(name).rank == 1 ? 1 : inFeatures)
    }

    public func outerProductFactors(
        _ outputGradient: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?
    ) throws -> OuterProductFactors<Scalar> {
        let shape = try parameter(name).shape
        let input = try io.input.samples(subsampling)
        let samples = input.shape[0]
        let positions = input.count / Swift.max(samples * inFeatures, 1)
        let left = try outputGradient.reshaped([samples, 1, positions, outFeatures])
        let right = name == "bias" ? try Tensor(repeating: 1, shape: [samples, 1, positions, 1])
                                   : try input.reshaped([samples, 1, positions, inFeatures])
        return OuterProductFactors(left: left, right: right) { matrices in
            try matrices.reshaped([matrices.shape[0]] + shape)
        }
    }
}

extension Convolution: OuterProductStructure {
    public func outerProductShape(parameter name: String, io: LayerIO<Scalar>) throws -> OuterProductShape {
        let g = geometry.groups
        return OuterProductShape(
            groups: g, positions: io.output.shape.dropFirst(2).reduce(1, *), leftFeatures: outChannels / g,
            rightFeatures: try parameter(name).rank == 1 ? 1 : inChannels / g * geometry.kernelSize.reduce(1, *))
    }

    public func outerProductFactors(
        _ outputGradient: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?
    ) throws -> OuterProductFactors<Scalar> {
        let shape = try parameter(name).shape
        let samples = subsampling?.count ?? io.batchSize, g = geometry.groups
        // δ as [M, G, C_out/G, L] → [M, G, L, C_out/G]: positions are the output positions.
        let left = try outputGradient.reshaped([samples, g, outChannels / g, -1]).permuted([0, 1, 3, 2])
        let positions = left.shape[2]
        if name == "bias" {
            return OuterProductFactors(left: left, right: try Tensor(repeating: 1, shape: [samples, g, positions, 1])) { matrices in
                try matrices.reshaped([matrices.shape[0]] + shape)
            }
        }
        let right = try groupedColumns(io, subsampling: subsampling).permuted([0, 1, 3, 2])
        let layer = self
        return OuterProductFactors(left: left, right: right) { matrices in
            try layer.weightLayout(matrices, leading: [matrices.shape[0]])
        }
    }
}
