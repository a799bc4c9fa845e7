import CRucksackKernels

extension Tensor {
    /// `scale · selfᵀ · self` for a matrix `[R, C]`: the `[C, C]` Gram matrix of its columns
    /// (Kronecker factors, batch-averaged Jacobian sandwiches), scaled within the products.
    ///
    /// Only the upper triangle is computed, and then mirrored, so the result is exactly
    /// symmetric at about half the multiply-adds of a general product. A CBLAS library with
    /// `syrk` (OpenBLAS) gets row bands of the triangle holding equal shares of it, one per
    /// thread, each a rank-k update of its diagonal block and a product for the block to its
    /// right. The built-in kernels multiply the blocks on and above the diagonal, one product per
    /// block column (all columns up to the block's end against the block); that pays where the
    /// matrix has at least as many rows as columns and 256 columns or more (a convolution's
    /// unfolded input over all positions), as each block column packs the rows again. Other
    /// matrices take one general product (symmetric up to rounding).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gram(scaledBy scale: Scalar = 1, backend: MatrixBackend = .current) throws -> Tensor {
        guard rank == 2 else {
            throw TensorError.invalidArgument(operation: "gram", reason: "needs a matrix [R, C], got shape \(shape)")
        }
        let (rows, columns) = (shape[0], shape[1])
        if case let .cblas(library) = backend.engine, let syrk = library.syrk, backend.splitsProducts, rows > 0, columns >= 32 {
            return try gramInBands(library, syrk, scale: scale, threads: backend.threads)
        }
        let block = Self.gramBlock
        guard columns >= 2 * block, rows >= columns else {
            let product = try matmul(self, transposingSelf: true, backend: backend)
            return scale == 1 ? product : product * scale
        }
        let count = try MemoryBudget.check([columns, columns], of: Scalar.self, operation: "gram")
        let result = try scalars.withUnsafeBufferPointer { a in
            try [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
                let (a, c) = (a.baseAddress!, c.baseAddress!)
                for start in stride(from: 0, to: columns, by: block) {
                    let width = Swift.min(block, columns - start)
                    // C[0 ..< start + width, start ..< start + width] = A[:, 0 ..< start + width]ᵀ · A[:, start ..< start + width]
                    var product = GEMMShape(transposeA: true, m: start + width, n: width, k: rows)
                    (product.lda, product.ldb, product.ldc) = (columns, columns, columns)
                    try Scalar.gemm(on: backend, product, alpha: scale, a, a + start, beta: 0, c + start)
                }
                Self.mirrorUpperTriangle(c, size: columns, threads: backend.threads)
                initialized = count
            }
        }
        return Tensor(unchecked: [columns, columns], scalars: result)
    }

    /// ``gram(scaledBy:backend:)`` by a CBLAS library's `syrk` and `gemm`, in row bands of the upper
    /// triangle with equal shares of its area.
    private func gramInBands(_ library: CBLASLibrary, _ syrk: (s: CBLASSignature.SSYRK, d: CBLASSignature.DSYRK), scale: Scalar, threads: Int) throws -> Tensor {
        let (rows, columns) = (shape[0], shape[1])
        try Scalar.checkCBLASExtents(GEMMShape(transposeA: true, m: columns, n: columns, k: rows))
        let count = try MemoryBudget.check([columns, columns], of: Scalar.self, operation: "gram")
        // Below about a million multiply-adds, waking threads costs more than it saves.
        let bands = Double(rows) * Double(columns) * Double(columns) < 2e6 ? 1 : Swift.max(1, Swift.min(threads, columns / 16))
        // Rows 0 ..< r hold r·C − r²/2 of the triangle's C²/2: the b-th of `bands` equal shares ends at C(1 − √(1 − b/bands)).
        @Sendable func bandStart(_ band: Int) -> Int {
            band == bands ? columns : Int((Double(columns) * (1 - (1 - Double(band) / Double(bands)).squareRoot())).rounded())
        }
        let result = scalars.withUnsafeBufferPointer { a in
            [Scalar](unsafeUninitializedCapacity: count) { c, initialized in
                let (a, c) = (UnsafeSendablePointer(a.baseAddress), UnsafeSendablePointer(c.baseAddress))
                parallelFor(bands, threads: threads) { band in
                    let (start, end) = (bandStart(band), bandStart(band + 1))
                    guard end > start else { return }
                    let corner = start * columns + start
                    Scalar.cblasUpperGram(syrk, n: end - start, k: rows, alpha: scale, a.pointer + start, lda: columns, c.pointer + corner, ldc: columns)
                    guard end < columns else { return }
                    var product = GEMMShape(transposeA: true, m: end - start, n: columns - end, k: rows)
                    (product.lda, product.ldb, product.ldc) = (columns, columns, columns)
                    Scalar.cblasGEMM(library, product, alpha: scale, a.pointer + start, a.pointer + end, beta: 0, c.pointer + corner + end - start)
                }
                Self.mirrorUpperTriangle(c.pointer, size: columns, threads: threads)
                initialized = count
            }
        }
        return Tensor(unchecked: [columns, columns], scalars: result)
    }

    /// Columns per block of ``gram(scaledBy:backend:)``: wide enough for efficient products, narrow
    /// enough that the skipped lower blocks are most of the lower half.
    static var gramBlock: Int { 128 }

    /// Copies the upper triangle of a row-major `size × size` matrix onto the lower one, in
    /// 16 × 16 blocks turned in registers; rows shared out over `threads` in bands of equal area.
    static func mirrorUpperTriangle(_ c: UnsafeMutablePointer<Scalar>, size: Int, threads: Int) {
        let bands = size * size < 1 << 18 ? 1 : Swift.max(1, Swift.min(threads, size / 64))
        // Rows 0 ..< r hold r²/2 of the lower triangle: band b starts at size·√(b/bands), a multiple of 16.
        @Sendable func bandStart(_ band: Int) -> Int {
            band == bands ? size : Int(Double(size) * (Double(band) / Double(bands)).squareRoot()) / 16 * 16
        }
        let c = UnsafeSendablePointer(c)
        parallelFor(bands, threads: threads) { band in
            let (first, last) = (bandStart(band), bandStart(band + 1))
            if Scalar.self == Float.self {
                rk_s_mirror_upper(c.cast(Float.self), size, first, last)
            } else {
                rk_d_mirror_upper(c.cast(Double.self), size, first, last)
            }
        }
    }
}

extension TensorScalar {
    /// The upper triangle of `Aᵀ A` for a row-major `A` (`k × n`, leading dimension `lda`) by the
    /// library's `syrk`, on the calling thread.
    static func cblasUpperGram(
        _ syrk: (s: CBLASSignature.SSYRK, d: CBLASSignature.DSYRK), n: Int, k: Int, alpha: Self,
        _ a: UnsafePointer<Self>, lda: Int, _ c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        let rowMajor: Int32 = 101, upper: Int32 = 121, trans: Int32 = 112
        if Self.self == Float.self {
            a.withMemoryRebound(to: Float.self, capacity: 1) { a in
                c.withMemoryRebound(to: Float.self, capacity: 1) { c in
                    syrk.s(rowMajor, upper, trans, Int32(n), Int32(k), Float(alpha), a, Int32(lda), 0, c, Int32(ldc))
                }
            }
        } else {
            a.withMemoryRebound(to: Double.self, capacity: 1) { a in
                c.withMemoryRebound(to: Double.self, capacity: 1) { c in
                    syrk.d(rowMajor, upper, trans, Int32(n), Int32(k), Double(alpha), a, Int32(lda), 0, c, Int32(ldc))
                }
            }
        }
    }
}
