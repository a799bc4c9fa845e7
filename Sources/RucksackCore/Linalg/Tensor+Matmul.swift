import Dispatch

extension Tensor {
    /// Matrix product over the last two axes, `op(self) · op(other)`, with `op` an optional transpose.
    ///
    /// Leading (batch) axes must agree, or those of one operand are the trailing batch axes of
    /// the other, which is then shared along the extra leading ones: `[*, m, k] · [*, k, n]`,
    /// `[*, m, k] · [k, n]`, `[m, k] · [*, k, n]`, `[b, g, m, k] · [g, k, n] → [b, g, m, n]`.
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
        let batchShape = batchSelf.count >= batchOther.count ? batchSelf : batchOther
        guard k == k2, batchShape.suffix(batchSelf.count).elementsEqual(batchSelf),
              batchShape.suffix(batchOther.count).elementsEqual(batchOther) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape)
        }
        let batches = batchShape.reduce(1, *)
        // A shared operand's batch index is the trailing part of the full one.
        let selfBatches = batchSelf.reduce(1, *), otherBatches = batchOther.reduce(1, *)
        // A batch of matrices times one shared matrix is a single taller product.
        let foldBatch = batchOther.isEmpty && !transposingSelf
        let product = GEMMShape(
            transposeA: transposingSelf, transposeB: transposingOther, m: foldBatch ? batches * m : m, n: n, k: k)
        let outShape = batchShape + [m, n]
        let count = try MemoryBudget.check(outShape, of: Scalar.self, operation: "matmul")
        guard k > 0, count > 0 else { return try Tensor(zeros: outShape) }
        // Every element is written by the product (beta = 0), so skip zero-filling the result.
        let result = try [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
            try scalars.withUnsafeBufferPointer { a in
                try other.scalars.withUnsafeBufferPointer { b in
                    let products = foldBatch ? 1 : batches
                    // Many small products (a convolution's, one per sample) go to the threads
                    // whole: one wake-up per call instead of one per product.
                    if backend.isBuiltin, backend.threads > 1, products >= 2 * backend.threads {
                        let (a, b, c) = (UnsafeSendablePointer(a.baseAddress!), UnsafeSendablePointer(b.baseAddress!), UnsafeSendablePointer(c.baseAddress!))
                        let parts = backend.threads
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            for batch in (products * part / parts)..<(products * (part + 1) / parts) {
                                Scalar.builtinGEMM(
                                    product, threads: 1, alpha: 1, a.pointer + batch % selfBatches * m * k,
                                    b.pointer + batch % otherBatches * k * n, beta: 0, c.pointer + batch * m * n)
                            }
                        }
                        return
                    }
                    for batch in 0..<products {
                        try Scalar.gemm(
                            on: backend, product, alpha: 1,
                            a.baseAddress! + batch % selfBatches * m * k,
                            b.baseAddress! + batch % otherBatches * k * n,
                            beta: 0, c.baseAddress! + batch * m * n)
                    }
                }
            }
            initialized = batches * m * n
        }
        return Tensor(unchecked: outShape, scalars: result)
    }
}
