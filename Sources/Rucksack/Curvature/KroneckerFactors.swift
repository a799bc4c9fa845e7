/// A Kronecker-factored curvature block of one parameter: a block-diagonal matrix whose blocks
/// are Kronecker products, `blocks[g] = [B, A]` meaning `B ⊗ A` (or `[B]` meaning `B`).
///
/// The order matches PyTorch's row-major flattening of the parameter (BackPACK spec §3.7): for a
/// weight `[out, in]`, `B` is `[out, out]` and `A` is `[in, in]`, and `(B ⊗ A) vec(X) = vec(B X Aᵀ)`
/// for `X: [out, in]`. A grouped convolution has one block per group, in group order; every other
/// parameter has one block.
public struct KroneckerFactors<Scalar: TensorScalar>: QuantityValue {
    public var blocks: [[Tensor<Scalar>]]

    public init(blocks: [[Tensor<Scalar>]]) { self.blocks = blocks }

    /// The factors of all blocks in order, as a file holds them (`<param>.kfac.0`, `.1`, …).
    public var tensors: [Tensor<Scalar>] { blocks.flatMap { $0 } }
    public static var isList: Bool { true }

    /// The side of each block's matrix.
    public var blockSizes: [Int] { blocks.map { $0.reduce(1) { $0 * ($1.shape.first ?? 0) } } }

    /// The side of the whole matrix.
    public var size: Int { blockSizes.reduce(0, +) }

    /// The dense matrix, `[size, size]`; refused when it would exceed the memory limit.
    public func denseMatrix() throws -> Tensor<Scalar> {
        let n = size
        try MemoryBudget.check([n, n], of: Scalar.self, operation: "dense Kronecker matrix")
        var scalars = [Scalar](repeating: 0, count: n * n)
        var offset = 0
        for (block, side) in zip(blocks, blockSizes) {
            let dense = try block.dropFirst().reduce(block[0]) { try Self.kronecker($0, $1) }.scalars
            for row in 0..<side {
                for column in 0..<side { scalars[(offset + row) * n + offset + column] = dense[row * side + column] }
            }
            offset += side
        }
        return try Tensor(shape: [n, n], scalars: scalars)
    }

    /// The matrix times a stack of flattened vectors `[V, size]` (or one vector `[size]`),
    /// without forming the matrix: `B X Aᵀ` per block.
    public func apply(_ vectors: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Self.mapBlocks(of: vectors, sizes: blockSizes, operation: "Kronecker product") { index, part in
            try Self.multiplyingAxes(part, by: blocks[index], transposing: false)
        }
    }

    /// Splits `[V, Σ sizes]` (or `[Σ sizes]`) into its blocks, transforms each `[V, size]` part
    /// and joins them again.
    static func mapBlocks(
        of vectors: Tensor<Scalar>, sizes: [Int], operation: String,
        _ transform: (Int, Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> Tensor<Scalar> {
        let stack = vectors.rank == 1 ? try vectors.unsqueezed(at: 0) : vectors
        let total = sizes.reduce(0, +)
        guard stack.rank == 2, stack.shape[1] == total else {
            throw TensorError.shapeMismatch(operation: operation, lhs: [total], rhs: vectors.shape)
        }
        var parts: [Tensor<Scalar>] = []
        var offset = 0
        for (index, side) in sizes.enumerated() {
            parts.append(try transform(index, stack.sliced(axis: 1, range: offset..<(offset + side))))
            offset += side
        }
        let result = try Tensor.concatenated(parts, axis: 1)
        return vectors.rank == 1 ? try result.squeezed(at: 0) : result
    }

    /// `(F₁ ⊗ F₂ ⊗ …) x` for each row `x` of `[V, Π dᵢ]`, one factor per axis of the row-major
    /// row (`Fᵢᵀ` when `transposing`).
    static func multiplyingAxes(_ part: Tensor<Scalar>, by factors: [Tensor<Scalar>], transposing: Bool) throws -> Tensor<Scalar> {
        let (count, side) = (part.shape[0], part.shape[1])
        var part = part
        var (leading, trailing) = (count, side)
        for factor in factors {
            let d = factor.shape[0]
            trailing /= d
            let grouped = try part.reshaped([leading, d, trailing])
            part = try Einsum.evaluate(transposing ? "ji,vjt->vit" : "ij,vjt->vit", factor, grouped).reshaped([count, side])
            leading *= d
        }
        return part
    }

    /// `a ⊗ b` of two matrices.
    static func kronecker(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let (p, q, r, s) = (a.shape[0], a.shape[1], b.shape[0], b.shape[1])
        return try (a.reshaped([p, 1, q, 1]) * b.reshaped([1, r, 1, s])).reshaped([p * r, q * s])
    }
}
