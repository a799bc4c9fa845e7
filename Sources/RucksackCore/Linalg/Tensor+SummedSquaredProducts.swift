extension Tensor {
    /// `Σᵥ Σₙ (Aᵥₙ · Bₙᵀ)²`, squared element-wise, for `a: [V, N, M, L]` and `b: [N, K, L]`:
    /// the `[M, K]` sum of the squares of `V · N` products that share `b` along `V`; with
    /// `perSample`, the sums over `V` alone, `[N, M, K]`.
    ///
    /// With `Aᵥₙ` a column of a loss-Hessian factor at a convolution's output and `Bₙ` the
    /// sample's unfolded input, these are the diagonals of the GGN and the Hessian at the
    /// weight (per sample or summed). Each product is formed on one thread in a buffer of its
    /// own and squared into its sum as it comes, so no `[V, N, M, K]` stack goes through memory
    /// and neither operand is copied. Summed, the threads share the products and each keeps its
    /// own sum; per sample, they share the samples and square into the result directly.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func summedSquaredProducts(_ a: Tensor, _ b: Tensor, perSample: Bool = false, backend: MatrixBackend = .current) throws -> Tensor {
        guard a.rank == 4, b.rank == 3, a.shape[1] == b.shape[0], a.shape[3] == b.shape[2] else {
            throw TensorError.shapeMismatch(operation: "summed squared products [V, N, M, L], [N, K, L]", lhs: a.shape, rhs: b.shape)
        }
        let (columnCount, samples, rows, terms, columns) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3], b.shape[1])
        let size = rows * columns
        let shape = GEMMShape(transposeB: true, m: rows, n: columns, k: terms)
        let resultShape = perSample ? [samples, rows, columns] : [rows, columns]
        guard columnCount * samples > 0, size > 0 else { return try Tensor(zeros: resultShape) }
        if case .cblas = backend.engine { try Scalar.checkCBLASExtents(shape) }
        let work = Double(columnCount * samples) * Double(size) * Double(Swift.max(terms, 1))
        let units = perSample ? samples : columnCount * samples
        // A CBLAS library that threads each product itself gets one caller.
        let threads = work < 1e6 || !backend.splitsProducts ? 1 : Swift.min(backend.threads, units)
        // Per thread: its running sum (summed only), then a buffer for one product.
        let perThread = perSample ? 1 : 2
        var buffers = try [Scalar](repeating: 0, count: MemoryBudget.check([threads, perThread, rows, columns], of: Scalar.self, operation: "summed squared products"))
        let resultCount = try MemoryBudget.check(perSample ? resultShape : [0], of: Scalar.self, operation: "summed squared products")
        let result = a.scalars.withUnsafeBufferPointer { a in
            b.scalars.withUnsafeBufferPointer { b in
                buffers.withUnsafeMutableBufferPointer { buffers in
                    [Scalar](unsafeUninitializedCapacity: resultCount) { result, initialized in
                        let (a, b) = (UnsafeSendablePointer(a.baseAddress), UnsafeSendablePointer(b.baseAddress))
                        let (buffers, result) = (UnsafeSendablePointer(buffers.baseAddress), UnsafeSendablePointer(result.baseAddress))
                        // The square of product `index` (column-major over samples) into `sum`,
                        // added or, for a sum's first term, stored.
                        let addSquare = { @Sendable (index: Int, sum: UnsafeMutablePointer<Scalar>, product: UnsafeMutablePointer<Scalar>, first: Bool) in
                            let target = first ? sum : product
                            Scalar.singleThreadedGEMM(
                                on: backend, shape, alpha: 1, a.pointer + index * rows * terms, b.pointer + index % samples * columns * terms,
                                beta: 0, target)
                            if first {
                                for element in 0..<size { sum[element] *= sum[element] }
                            } else {
                                for element in 0..<size { sum[element] += product[element] * product[element] }
                            }
                        }
                        forEachSlice(of: units, parts: threads) { part, slice in
                            let own = buffers.pointer + perThread * part * size
                            if perSample {
                                for sample in slice {
                                    for column in 0..<columnCount {
                                        addSquare(column * samples + sample, result.pointer + sample * size, own, column == 0)
                                    }
                                }
                            } else {
                                for index in slice { addSquare(index, own, own + size, false) }
                            }
                        }
                        initialized = resultCount
                        guard !perSample else { return }
                        for part in 1..<threads {
                            for element in 0..<size { buffers.pointer[element] += buffers.pointer[2 * part * size + element] }
                        }
                    }
                }
            }
        }
        return Tensor(unchecked: resultShape, scalars: perSample ? result : Array(buffers.prefix(size)))
    }
}
