/// One parameter's diagonal block of a curvature matrix (Hessian, GGN or positive-curvature
/// Hessian) of the reduced loss, as an exact matrix-free product: BackPACK's `HMP`, `GGNMP` and
/// `PCHMP` results, bpexts' `p.hvp`.
///
/// It is a value that stays valid after the backward pass and after later forward passes: it
/// holds the traced inputs and outputs of the layers between the parameter and the loss, and
/// nothing else. The block is symmetric; it acts on the parameter flattened row-major.
public struct CurvatureBlock<Scalar: TensorScalar>: QuantityValue {
    /// The parameter's shape `θ`.
    public let parameterShape: [Int]
    /// How many vectors one product takes at a time, so that the stacks at the widest layer
    /// output stay near 2²⁴ elements; a larger stack is multiplied in slices.
    let vectorsPerProduct: Int
    /// `[V, *θ] → [V, *θ]`; `nil` for a zero block.
    let product: (@Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>)?

    /// A block whose product passes stacks through a layer output of `outputElements` entries
    /// per vector.
    init(parameterShape: [Int], outputElements: Int, product: (@Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>)?) {
        self.parameterShape = parameterShape
        vectorsPerProduct = Swift.max(1, (1 << 24) / Swift.max(outputElements, 1))
        self.product = product
    }

    /// The parameter's number of entries, the block's side.
    public var size: Int { parameterShape.reduce(1, *) }

    /// The block times each of a stack of vectors shaped like the parameter: `[V, *θ] → [V, *θ]`.
    public func apply(_ vectors: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard vectors.rank == parameterShape.count + 1, Array(vectors.shape.dropFirst()) == parameterShape else {
            throw QuantityError.invalidArgument(
                quantity: "curvature block product", reason: "expects a stack of vectors shaped [V] + \(parameterShape), got \(vectors.shape)")
        }
        guard let product else { return try Tensor(zeros: vectors.shape) }
        let count = vectors.shape[0]
        guard count > vectorsPerProduct else { return try product(vectors) }
        let parts = try stride(from: 0, to: count, by: vectorsPerProduct).map { start in
            try product(vectors.sliced(axis: 0, range: start..<Swift.min(count, start + vectorsPerProduct)))
        }
        return try Tensor.concatenated(parts, axis: 0)
    }

    /// The dense `[size, size]` block, from its products with the unit vectors; refused when it
    /// would exceed `MemoryBudget.limit`.
    public func denseMatrix() throws -> Tensor<Scalar> {
        let n = size
        try MemoryBudget.check([n, n], of: Scalar.self, operation: "dense curvature block of a parameter shaped \(parameterShape)")
        // Row i holds B eᵢ, column i of B; transposing returns B itself, not only up to rounding.
        return try apply(Tensor.identity(n).reshaped([n] + parameterShape)).reshaped([n, n]).transposed()
    }

    /// An operator has no tensors of its own; ``denseMatrix()`` makes one.
    public var tensors: [Tensor<Scalar>] { [] }
    public static var isList: Bool { true }
}
