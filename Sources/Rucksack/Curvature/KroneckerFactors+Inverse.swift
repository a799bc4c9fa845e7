extension KroneckerFactors {
    /// The inverse of the factored Tikhonov damping of Martens & Grosse (2015, §6.3): each
    /// factor `Fᵢ` of a block becomes `(Fᵢ + δᵢ I)⁻¹` with `Πᵢ δᵢ = λ`, split in proportion to
    /// the factors' mean eigenvalues, `δᵢ = λ^{1/k} mᵢ / (Πⱼ mⱼ)^{1/k}` with `mᵢ = tr(Fᵢ)/dᵢ`
    /// (for `B ⊗ A`: `A + π√λ I` and `B + √λ/π I`, `π = √(m_A / m_B)`). A block with a zero
    /// trace gets `δᵢ = λ^{1/k}`; a one-factor block gets `(B + λI)⁻¹` exactly.
    ///
    /// The result is again a factor list, so ``apply(_:)`` multiplies with it.
    /// - Throws: `TensorError.invalidArgument` unless `damping > 0`;
    ///   `DecompositionError.notPositiveDefinite` when a damped factor is not.
    public func piDampedInverse(damping: Scalar, backend: DecompositionBackend = .current) throws -> KroneckerFactors {
        try Self.checkDamping(damping, operation: "π-damped Kronecker inverse")
        let blocks = try blocks.map { factors in
            let k = Scalar(factors.count)
            let means = factors.map { factor in
                (0..<factor.shape[0]).reduce(Scalar(0)) { $0 + factor.scalars[$1 * factor.shape[0] + $1] } / Scalar(factor.shape[0])
            }
            let geometricMean = Scalar.exp(means.map { Scalar.log($0) }.reduce(0, +) / k)
            let share = Scalar.pow(damping, 1 / k)
            return try zip(factors, means).map { factor, mean in
                let shift = means.allSatisfy({ $0 > 0 }) ? share * mean / geometricMean : share
                return try (factor + Tensor.identity(factor.shape[0]) * Tensor(shift)).positiveDefiniteInverse(backend: backend)
            }
        }
        return KroneckerFactors(blocks: blocks)
    }

    /// The eigendecomposition of every factor, for exact functions of the whole matrix such as
    /// the damped inverse `(F + λI)⁻¹`.
    public func eigendecomposition(backend: DecompositionBackend = .current) throws -> KroneckerEigendecomposition<Scalar> {
        KroneckerEigendecomposition(blocks: try blocks.map { try $0.map { try $0.symmetricEigendecomposition(backend: backend) } })
    }

    static func checkDamping(_ damping: Scalar, operation: String) throws {
        guard damping > 0, damping.isFinite else {
            throw TensorError.invalidArgument(operation: operation, reason: "the damping must be positive and finite, got \(damping)")
        }
    }
}

/// The eigendecompositions of a ``KroneckerFactors``' factors: `Fᵢ = Qᵢ Λᵢ Qᵢᵀ`, so that a block
/// `F₁ ⊗ F₂` is `(Q₁ ⊗ Q₂)(Λ₁ ⊗ Λ₂)(Q₁ ⊗ Q₂)ᵀ` and any function of it is applied through the
/// eigenvalue products, without forming the matrix.
public struct KroneckerEigendecomposition<Scalar: TensorScalar>: Sendable {
    public var blocks: [[SymmetricEigendecomposition<Scalar>]]

    /// The eigenvalues of each block's matrix, `[side]`, in the row-major order of its axes.
    public func blockEigenvalues() throws -> [Tensor<Scalar>] {
        try blocks.map { factors in
            let columns = try factors.map { try $0.eigenvalues.reshaped([$0.eigenvalues.count, 1]) }
            let product = try columns.dropFirst().reduce(columns[0]) { try KroneckerFactors<Scalar>.kronecker($0, $1) }
            return try product.reshaped([product.count])
        }
    }

    /// `f(F) X` for a stack of flattened vectors `[V, size]` (or one vector `[size]`).
    public func apply(_ vectors: Tensor<Scalar>, function: (Scalar) -> Scalar) throws -> Tensor<Scalar> {
        let values = try blockEigenvalues()
        return try KroneckerFactors<Scalar>.mapBlocks(of: vectors, sizes: values.map(\.count), operation: "Kronecker eigenbasis product") { index, part in
            let bases = blocks[index].map(\.eigenvectors)
            let rotated = try KroneckerFactors.multiplyingAxes(part, by: bases, transposing: true)
            let scaled = try rotated * Tensor(shape: [1, values[index].count], scalars: values[index].scalars.map(function))
            return try KroneckerFactors.multiplyingAxes(scaled, by: bases, transposing: false)
        }
    }

    /// `(F + λI)⁻¹ X` exactly.
    /// - Throws: `TensorError.invalidArgument` unless `damping > 0`.
    public func applyDampedInverse(_ vectors: Tensor<Scalar>, damping: Scalar) throws -> Tensor<Scalar> {
        try KroneckerFactors<Scalar>.checkDamping(damping, operation: "damped Kronecker inverse")
        return try apply(vectors) { 1 / ($0 + damping) }
    }
}
