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
        let (m, k, k2, n) = productExtents(other, transposingSelf: transposingSelf, transposingOther: transposingOther)
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
        if k == 1 {
            return outerProducts(other, m: m, n: n, batches: batches, selfBatches: selfBatches, otherBatches: otherBatches,
                                 outShape: outShape, threads: backend.threads)
        }
        // Every element is written by the product (beta = 0), so skip zero-filling the result.
        let result = try [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
            try scalars.withUnsafeBufferPointer { a in
                try other.scalars.withUnsafeBufferPointer { b in
                    let products = foldBatch ? 1 : batches
                    // Many small products (a convolution's, one per sample) go to the threads
                    // whole: one wake-up per call instead of one per product. A shared left
                    // operand (the convolution's weight) is packed once per thread.
                    let threaded = backend.splitsProducts && backend.threads > 1 && products >= 2 * backend.threads
                    if threaded || (backend.isBuiltin && products > 1 && selfBatches == 1) {
                        if !backend.isBuiltin { try Scalar.checkCBLASExtents(product) }
                        let (a, b, c) = (UnsafeSendablePointer(a.baseAddress!), UnsafeSendablePointer(b.baseAddress!), UnsafeSendablePointer(c.baseAddress!))
                        forEachSlice(of: products, parts: threaded ? backend.threads : 1) { _, slice in
                            if selfBatches == 1, let set = backend.instructionSet {
                                Scalar.builtinGEMMSharingA(
                                    product, set, alpha: 1, a.pointer, b.pointer + slice.lowerBound * k * n, strideB: k * n,
                                    beta: 0, c.pointer + slice.lowerBound * m * n, strideC: m * n, count: slice.count)
                                return
                            }
                            for batch in slice {
                                Scalar.singleThreadedGEMM(
                                    on: backend, product, alpha: 1, a.pointer + batch % selfBatches * m * k,
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

extension Tensor {
    /// The extents `m × k` of `op(self)` and `k2 × n` of `op(other)` on the last two axes (both
    /// of rank 2 or more); a product needs `k == k2`.
    func productExtents(_ other: Tensor, transposingSelf: Bool, transposingOther: Bool) -> (m: Int, k: Int, k2: Int, n: Int) {
        let (rows, columns) = (shape[rank - 2], shape[rank - 1])
        let (otherRows, otherColumns) = (other.shape[other.rank - 2], other.shape[other.rank - 1])
        return (transposingSelf ? columns : rows, transposingSelf ? rows : columns,
                transposingOther ? otherColumns : otherRows, transposingOther ? otherRows : otherColumns)
    }

    /// Products with one contracted element are outer products, `C[i, j] = a[i] · b[j]` (either
    /// operand reads the same whether transposed or not): written once at memory speed, a batch
    /// per thread, where a GEMM kernel would do a full pass per element for nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func outerProducts(
        _ other: Tensor, m: Int, n: Int, batches: Int, selfBatches: Int, otherBatches: Int, outShape: [Int], threads: Int
    ) -> Tensor {
        let count = batches * m * n
        let result = scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
                    let (a, b, c) = (UnsafeSendablePointer(a.baseAddress), UnsafeSendablePointer(b.baseAddress), UnsafeSendablePointer(c.baseAddress))
                    forEachSlice(of: batches, parts: threadsFor(elements: count, units: batches, threads: threads)) { _, slice in
                        for batch in slice {
                            let left = a.pointer + batch % selfBatches * m, right = b.pointer + batch % otherBatches * n
                            for i in 0..<m {
                                let row = c.pointer + (batch * m + i) * n, scale = left[i]
                                for j in 0..<n { row[j] = scale * right[j] }
                            }
                        }
                    }
                    initialized = count
                }
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }

    /// `Σ_s op(self[s]) · op(other[s])`: matrix products summed over the leading axis, which both
    /// operands share, `[S, *b, ·, ·]` and `[S, *b, ·, ·]` → `[*b, m, n]`.
    ///
    /// Each product accumulates onto the running sum (`beta = 1`), so the `S` products are never
    /// formed one by one (a convolution's weight gradient sums one product per sample). With
    /// several threads each sums part of the axis and the parts are added at the end, so the
    /// result differs from one thread's in the order of summation only.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmulSummedOverLeadingAxis(
        _ other: Tensor, transposingSelf: Bool = false, transposingOther: Bool = false,
        backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "matmulSummedOverLeadingAxis"
        guard rank >= 3, other.rank == rank, shape.dropLast(2) == other.shape.dropLast(2) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape)
        }
        let (m, k, k2, n) = productExtents(other, transposingSelf: transposingSelf, transposingOther: transposingOther)
        guard k == k2 else { throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape) }
        let terms = shape[0], batches = shape[1..<(rank - 2)].reduce(1, *)
        let outShape = Array(shape[1..<(rank - 2)]) + [m, n]
        let count = try MemoryBudget.check(outShape, of: Scalar.self, operation: operation)
        guard terms > 0, k > 0, count > 0 else { return try Tensor(zeros: outShape) }
        let product = GEMMShape(transposeA: transposingSelf, transposeB: transposingOther, m: m, n: n, k: k)
        let parts = backend.splitsProducts ? Swift.min(backend.threads, terms) : 1
        if parts > 1, !backend.isBuiltin { try Scalar.checkCBLASExtents(product) }
        // Part 0 sums into the result, the others into buffers of their own, added at the end.
        var partials = [Scalar](repeating: 0, count: (parts - 1) * count)
        var result = [Scalar](repeating: 0, count: count)
        try scalars.withUnsafeBufferPointer { a in
            try other.scalars.withUnsafeBufferPointer { b in
                try result.withUnsafeMutableBufferPointer { c in
                    try partials.withUnsafeMutableBufferPointer { extra in
                        let (a, b) = (UnsafeSendablePointer(a.baseAddress), UnsafeSendablePointer(b.baseAddress))
                        let (c, extra) = (UnsafeSendablePointer(c.baseAddress), UnsafeSendablePointer(extra.baseAddress))
                        typealias Multiply = (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>, Scalar, UnsafeMutablePointer<Scalar>) throws -> Void
                        @Sendable func sum(part: Int, terms slice: Range<Int>, _ multiply: Multiply) rethrows {
                            let target = part == 0 ? c.pointer : extra.pointer + (part - 1) * count
                            for term in slice {
                                for batch in 0..<batches {
                                    let index = term * batches + batch
                                    try multiply(a.pointer + index * m * k, b.pointer + index * k * n, term == slice.lowerBound ? 0 : 1, target + batch * m * n)
                                }
                            }
                        }
                        guard parts > 1 else {
                            return try sum(part: 0, terms: 0..<terms) { try Scalar.gemm(on: backend, product, alpha: 1, $0, $1, beta: $2, $3) }
                        }
                        forEachSlice(of: terms, parts: parts) { part, slice in
                            sum(part: part, terms: slice) { Scalar.singleThreadedGEMM(on: backend, product, alpha: 1, $0, $1, beta: $2, $3) }
                        }
                    }
                }
            }
        }
        for part in 1..<Swift.max(parts, 1) {
            partials.withUnsafeBufferPointer { extra in
                for i in 0..<count { result[i] += extra[(part - 1) * count + i] }
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }
}

extension Tensor {
    /// `self · op(other) + bias`, `bias` added to every row: an affine layer's output, `[*, m, k]`
    /// times a shared matrix `[k, n]` (`[n, k]` transposed) plus `[n]`.
    ///
    /// The rows start as copies of `bias` and the product accumulates onto them (`beta = 1`), so
    /// the sum costs no pass of its own, and a CBLAS library skips the pass that clears the
    /// result before a `beta = 0` product. The same result as the product plus the bias, up to
    /// the order of the last addition.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(
        _ other: Tensor, transposingOther: Bool = false, addingToEachRow bias: Tensor, backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "matmul"
        guard rank >= 2, other.rank == 2 else { throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape) }
        let (_, k, k2, n) = productExtents(other, transposingSelf: false, transposingOther: transposingOther)
        guard k == k2 else { throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape) }
        guard bias.shape == [n] else { throw TensorError.shapeMismatch(operation: "matmul bias", lhs: [n], rhs: bias.shape) }
        let rows = shape.dropLast().reduce(1, *)
        let outShape = Array(shape.dropLast()) + [n]
        let total = try MemoryBudget.check(outShape, of: Scalar.self, operation: operation)
        let result = try [Scalar](unsafeUninitializedCapacity: total) { c, initialized in
            guard let c = c.baseAddress else { return }
            bias.scalars.withUnsafeBufferPointer { bias in
                for row in 0..<rows { (c + row * n).initialize(from: bias.baseAddress!, count: n) }
            }
            initialized = total
            try scalars.withUnsafeBufferPointer { a in
                try other.scalars.withUnsafeBufferPointer { b in
                    guard k > 0 else { return }  // no terms: the bias alone
                    let product = GEMMShape(transposeB: transposingOther, m: rows, n: n, k: k)
                    try Scalar.gemm(on: backend, product, alpha: 1, a.baseAddress!, b.baseAddress!, beta: 1, c)
                }
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }
}
