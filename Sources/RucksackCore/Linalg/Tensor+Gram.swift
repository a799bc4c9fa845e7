extension Tensor {
    /// `selfᵀ · self` for a matrix `[R, C]`: the `[C, C]` Gram matrix of its columns (Kronecker
    /// factors, batch-averaged Jacobian sandwiches).
    ///
    /// Only the blocks on and above the diagonal are multiplied, one product per block column
    /// (all columns up to the block's end against the block), and the upper triangle is then
    /// mirrored: about half the multiply-adds of a general product. That pays where the matrix
    /// has at least as many rows as columns and 256 columns or more (a convolution's unfolded
    /// input over all positions), as each block column packs the rows again, and that result is
    /// exactly symmetric. Other matrices take one general product (symmetric up to rounding).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gram(backend: MatrixBackend = .current) throws -> Tensor {
        guard rank == 2 else {
            throw TensorError.invalidArgument(operation: "gram", reason: "needs a matrix [R, C], got shape \(shape)")
        }
        let (rows, columns) = (shape[0], shape[1])
        let block = Self.gramBlock
        guard columns >= 2 * block, rows >= columns else { return try matmul(self, transposingSelf: true, backend: backend) }
        let count = try MemoryBudget.check([columns, columns], of: Scalar.self, operation: "gram")
        let result = try scalars.withUnsafeBufferPointer { a in
            try [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
                let (a, c) = (a.baseAddress!, c.baseAddress!)
                for start in stride(from: 0, to: columns, by: block) {
                    let width = Swift.min(block, columns - start)
                    // C[0 ..< start + width, start ..< start + width] = A[:, 0 ..< start + width]ᵀ · A[:, start ..< start + width]
                    var product = GEMMShape(transposeA: true, m: start + width, n: width, k: rows)
                    (product.lda, product.ldb, product.ldc) = (columns, columns, columns)
                    try Scalar.gemm(on: backend, product, alpha: 1, a, a + start, beta: 0, c + start)
                }
                Self.mirrorUpperTriangle(c, size: columns)
                initialized = count
            }
        }
        return Tensor(unchecked: [columns, columns], scalars: result)
    }

    /// Columns per block of ``gram(backend:)``: wide enough for efficient products, narrow
    /// enough that the skipped lower blocks are most of the lower half.
    static var gramBlock: Int { 128 }

    /// Copies the upper triangle of a row-major `size × size` matrix onto the lower one, in
    /// square tiles so that the transposed reads stay in cache.
    static func mirrorUpperTriangle(_ c: UnsafeMutablePointer<Scalar>, size: Int) {
        let tile = 32
        for rowStart in stride(from: 0, to: size, by: tile) {
            for columnStart in stride(from: 0, through: rowStart, by: tile) {
                for row in rowStart..<Swift.min(size, rowStart + tile) {
                    for column in columnStart..<Swift.min(row, columnStart + tile) {
                        c[row &* size &+ column] = c[column &* size &+ row]
                    }
                }
            }
        }
    }
}
