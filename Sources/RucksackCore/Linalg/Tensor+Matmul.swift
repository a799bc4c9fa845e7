extension Tensor {
    /// Matrix product over the last two axes, `op(self) · op(other)`, with `op` an optional transpose.
    ///
    /// Leading (batch) axes must agree, or one operand is a plain matrix shared by every batch
    /// entry: `[*, m, k] · [*, k, n] → [*, m, n]`, `[*, m, k] · [k, n]`, `[m, k] · [*, k, n]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(
        _ other: Tensor, transposingSelf: Bool = false, transposingOther: Bool = false,
        backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "matmul"
        guard rank >= 2, other.rank >= 2 else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape)
        }
        let (m, k) = transposingSelf ? (shape[rank - 1], shape[rank - 2]) : (shape[rank - 2], shape[rank - 1])
        let (k2, n) = transposingOther
            ? (other.shape[other.rank - 1], other.shape[other.rank - 2])
            : (other.shape[other.rank - 2], other.shape[other.rank - 1])
        let batchSelf = Array(shape.dropLast(2)), batchOther = Array(other.shape.dropLast(2))
        guard k == k2, batchSelf == batchOther || batchSelf.isEmpty || batchOther.isEmpty else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape)
        }
        let batchShape = batchSelf.isEmpty ? batchOther : batchSelf
        let batches = batchShape.reduce(1, *)
        // A batch of matrices times one shared matrix is a single taller product.
        let foldBatch = batchOther.isEmpty && !transposingSelf
        let product = GEMMShape(
            transposeA: transposingSelf, transposeB: transposingOther, m: foldBatch ? batches * m : m, n: n, k: k)
        let outShape = batchShape + [m, n]
        guard k > 0, batches * m * n > 0 else { return try Tensor(zeros: outShape) }
        // Every element is written by the product (beta = 0), so skip zero-filling the result.
        let result = try [Scalar](unsafeUninitializedCapacity: batches * m * n) { c, initialized in
            try scalars.withUnsafeBufferPointer { a in
                try other.scalars.withUnsafeBufferPointer { b in
                    for batch in 0..<(foldBatch ? 1 : batches) {
                        try Scalar.gemm(
                            on: backend, product, alpha: 1,
                            a.baseAddress! + (batchSelf.isEmpty ? 0 : batch * m * k),
                            b.baseAddress! + (batchOther.isEmpty ? 0 : batch * k * n),
                            beta: 0, c.baseAddress! + batch * m * n)
                    }
                }
            }
            initialized = batches * m * n
        }
        return Tensor(unchecked: outShape, scalars: result)
    }
}
