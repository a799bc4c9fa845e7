extension Tensor {
    /// `Σᵥ Σₙ (Aᵥₙ · Bₙᵀ)²`, squared element-wise, for `a: [V, N, M, L]` and `b: [N, K, L]`:
    /// the `[M, K]` sum of the squares of `V · N` products that share `b` along `V`.
    ///
    /// With `Aᵥₙ` a column of a loss-Hessian factor at a convolution's output and `Bₙ` the
    /// sample's unfolded input, these are the diagonals of the GGN and the Hessian at the
    /// weight. Each product is formed on one thread in a buffer of its own and squared into that
    /// thread's sum as it comes; the threads share the products, so no `[V, N, M, K]` stack goes
    /// through memory and neither operand is copied.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func summedSquaredProducts(_ a: Tensor, _ b: Tensor, backend: MatrixBackend = .current) throws -> Tensor {
        guard a.rank == 4, b.rank == 3, a.shape[1] == b.shape[0], a.shape[3] == b.shape[2] else {
            throw TensorError.shapeMismatch(operation: "summed squared products [V, N, M, L], [N, K, L]", lhs: a.shape, rhs: b.shape)
        }
        let (samples, rows, terms, columns) = (a.shape[1], a.shape[2], a.shape[3], b.shape[1])
        let products = a.shape[0] * samples, size = rows * columns
        let shape = GEMMShape(transposeB: true, m: rows, n: columns, k: terms)
        guard products > 0, size > 0 else { return try Tensor(zeros: [rows, columns]) }
        if case .cblas = backend.engine { try Scalar.checkCBLASExtents(shape) }
        let work = Double(products) * Double(size) * Double(Swift.max(terms, 1))
        let threads = work < 1e6 ? 1 : Swift.min(backend.threads, products)
        // Per thread: its running sum, then a buffer for one product.
        var sums = try [Scalar](repeating: 0, count: MemoryBudget.check([threads, 2, rows, columns], of: Scalar.self, operation: "summed squared products"))
        a.scalars.withUnsafeBufferPointer { a in
            b.scalars.withUnsafeBufferPointer { b in
                sums.withUnsafeMutableBufferPointer { sums in
                    let (a, b, sums) = (UnsafeSendablePointer(a.baseAddress), UnsafeSendablePointer(b.baseAddress), UnsafeSendablePointer(sums.baseAddress))
                    forEachSlice(of: products, parts: threads) { part, slice in
                        let sum = sums.pointer + 2 * part * size, product = sum + size
                        for index in slice {
                            Scalar.singleThreadedGEMM(
                                on: backend, shape, alpha: 1, a.pointer + index * rows * terms, b.pointer + index % samples * columns * terms,
                                beta: 0, product)
                            for element in 0..<size { sum[element] += product[element] * product[element] }
                        }
                    }
                    for part in 1..<threads {
                        for element in 0..<size { sums.pointer[element] += sums.pointer[2 * part * size + element] }
                    }
                }
            }
        }
        return Tensor(unchecked: [rows, columns], scalars: Array(sums.prefix(size)))
    }
}
