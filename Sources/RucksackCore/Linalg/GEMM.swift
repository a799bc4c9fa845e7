import CRucksackKernels

/// The arguments of one row-major product `C = alpha · op(A) · op(B) + beta · C`.
public struct GEMMShape: Sendable, Equatable {
    public var transposeA: Bool
    public var transposeB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    public var lda: Int
    public var ldb: Int
    public var ldc: Int

    /// A product of dense, contiguous row-major operands.
    public init(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.m = m
        self.n = n
        self.k = k
        lda = max(1, transposeA ? m : k)
        ldb = max(1, transposeB ? k : n)
        ldc = max(1, n)
    }
}

extension TensorScalar {
    /// Multiplies raw row-major matrices on `backend`; the building block of every tensor product.
    public static func gemm(
        on backend: MatrixBackend, _ shape: GEMMShape, alpha: Self,
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, beta: Self, _ c: UnsafeMutablePointer<Self>
    ) throws {
        guard shape.m > 0, shape.n > 0 else { return }
        guard shape.k > 0 else {  // no BLAS call: some libraries reject k == 0
            for row in 0..<shape.m {
                for column in 0..<shape.n {
                    let value = c[row * shape.ldc + column]
                    c[row * shape.ldc + column] = beta == 0 ? 0 : beta * value
                }
            }
            return
        }
        switch backend.engine {
        case .builtin:
            let set = backend.kernels
            inBands(shape, threads: backend.threads, a, b, c) { kernel($0, set, alpha: alpha, $1, $2, beta: beta, $3) }
        case let .cblas(library):
            try checkCBLASExtents(shape)
            guard backend.splitsProducts else { return cblasGEMM(library, shape, alpha: alpha, a, b, beta: beta, c) }
            inBands(shape, threads: backend.threads, a, b, c) { cblasGEMM(library, $0, alpha: alpha, $1, $2, beta: beta, $3) }
        }
    }

    /// One product on the calling thread: the built-in kernels, or a CBLAS library that Rucksack
    /// runs single-threaded (``MatrixBackend/splitsProducts``). For batches that go to the
    /// threads whole; the caller has checked a library's extents (``checkCBLASExtents(_:)``).
    static func singleThreadedGEMM(
        on backend: MatrixBackend, _ shape: GEMMShape, alpha: Self,
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, beta: Self, _ c: UnsafeMutablePointer<Self>
    ) {
        switch backend.engine {
        case .builtin: kernel(shape, backend.kernels, alpha: alpha, a, b, beta: beta, c)
        case let .cblas(library): cblasGEMM(library, shape, alpha: alpha, a, b, beta: beta, c)
        }
    }

    /// CBLAS takes 32-bit extents.
    static func checkCBLASExtents(_ shape: GEMMShape) throws {
        let dimensions = [shape.m, shape.n, shape.k, shape.lda, shape.ldb, shape.ldc]
        guard dimensions.allSatisfy({ $0 <= Int(Int32.max) }) else {
            throw MatrixBackendError.dimensionTooLarge(operation: "gemm", shape: [shape.m, shape.k, shape.n])
        }
    }

    /// Runs `multiply` on row or column bands of C, one per thread, or on the whole product
    /// where it is too small to share.
    static func inBands(
        _ shape: GEMMShape, threads: Int, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ c: UnsafeMutablePointer<Self>,
        _ multiply: @Sendable (GEMMShape, UnsafePointer<Self>, UnsafePointer<Self>, UnsafeMutablePointer<Self>) -> Void
    ) {
        // Below about a million multiply-adds, waking threads costs more than it saves.
        let work = Double(shape.m) * Double(shape.n) * Double(shape.k)
        let bands = work < 1e6 ? 1 : Swift.min(threads, Swift.max(shape.m, shape.n) / 16, 64)
        guard bands > 1 else { return multiply(shape, a, b, c) }
        let splitRows = shape.m >= shape.n
        let extent = splitRows ? shape.m : shape.n
        let a = UnsafeSendablePointer(a), b = UnsafeSendablePointer(b), c = UnsafeSendablePointer(c)
        parallelFor(bands) { band in
            let start = extent * band / bands, end = extent * (band + 1) / bands
            var part = shape
            if splitRows {
                part.m = end - start
                let aOffset = shape.transposeA ? start : start * shape.lda
                multiply(part, a.pointer + aOffset, b.pointer, c.pointer + start * shape.ldc)
            } else {
                part.n = end - start
                let bOffset = shape.transposeB ? start * shape.ldb : start
                multiply(part, a.pointer, b.pointer + bOffset, c.pointer + start)
            }
        }
    }

    /// One product by the built-in kernels for `set`, on the calling thread.
    static func kernel(
        _ s: GEMMShape, _ set: BuiltinInstructionSet, alpha: Self, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>,
        beta: Self, _ c: UnsafeMutablePointer<Self>
    ) {
        let ta: Int32 = s.transposeA ? 1 : 0, tb: Int32 = s.transposeB ? 1 : 0
        if Self.self == Float.self {
            a.withMemoryRebound(to: Float.self, capacity: 1) { a in
                b.withMemoryRebound(to: Float.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Float.self, capacity: 1) { c in
                        rk_sgemm(Int32(set.rawValue), ta, tb, s.m, s.n, s.k, Float(alpha), a, s.lda, b, s.ldb, Float(beta), c, s.ldc)
                    }
                }
            }
        } else {
            a.withMemoryRebound(to: Double.self, capacity: 1) { a in
                b.withMemoryRebound(to: Double.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Double.self, capacity: 1) { c in
                        rk_dgemm(Int32(set.rawValue), ta, tb, s.m, s.n, s.k, Double(alpha), a, s.lda, b, s.ldb, Double(beta), c, s.ldc)
                    }
                }
            }
        }
    }

    /// `count` products on one thread with the same `a`, packed once: `b` and `c` advance by
    /// `strideB` and `strideC` elements from one product to the next.
    static func builtinGEMMSharingA(
        _ s: GEMMShape, _ set: BuiltinInstructionSet, alpha: Self, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, strideB: Int,
        beta: Self, _ c: UnsafeMutablePointer<Self>, strideC: Int, count: Int
    ) {
        let ta: Int32 = s.transposeA ? 1 : 0, tb: Int32 = s.transposeB ? 1 : 0
        if Self.self == Float.self {
            a.withMemoryRebound(to: Float.self, capacity: 1) { a in
                b.withMemoryRebound(to: Float.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Float.self, capacity: 1) { c in
                        rk_sgemm_shared_a(Int32(set.rawValue), ta, tb, s.m, s.n, s.k, Float(alpha), a, s.lda, b, s.ldb, strideB, Float(beta), c, s.ldc, strideC, count)
                    }
                }
            }
        } else {
            a.withMemoryRebound(to: Double.self, capacity: 1) { a in
                b.withMemoryRebound(to: Double.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Double.self, capacity: 1) { c in
                        rk_dgemm_shared_a(Int32(set.rawValue), ta, tb, s.m, s.n, s.k, Double(alpha), a, s.lda, b, s.ldb, strideB, Double(beta), c, s.ldc, strideC, count)
                    }
                }
            }
        }
    }

    static func cblasGEMM(
        _ library: CBLASLibrary, _ s: GEMMShape, alpha: Self,
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, beta: Self, _ c: UnsafeMutablePointer<Self>
    ) {
        let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112
        let ta = s.transposeA ? trans : noTrans, tb = s.transposeB ? trans : noTrans
        let (m, n, k) = (Int32(s.m), Int32(s.n), Int32(s.k))
        let (lda, ldb, ldc) = (Int32(s.lda), Int32(s.ldb), Int32(s.ldc))
        if Self.self == Float.self {
            a.withMemoryRebound(to: Float.self, capacity: 1) { a in
                b.withMemoryRebound(to: Float.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Float.self, capacity: 1) { c in
                        library.sgemm(rowMajor, ta, tb, m, n, k, Float(alpha), a, lda, b, ldb, Float(beta), c, ldc)
                    }
                }
            }
        } else {
            a.withMemoryRebound(to: Double.self, capacity: 1) { a in
                b.withMemoryRebound(to: Double.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Double.self, capacity: 1) { c in
                        library.dgemm(rowMajor, ta, tb, m, n, k, Double(alpha), a, lda, b, ldb, Double(beta), c, ldc)
                    }
                }
            }
        }
    }
}

/// A raw pointer handed to worker threads that each touch a disjoint part of the memory.
struct UnsafeSendablePointer<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    init(_ pointer: UnsafePointer<Pointee>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
    /// A buffer's base address; an empty buffer's `nil` becomes a pointer that is never read.
    init(_ pointer: UnsafeMutablePointer<Pointee>?) { self.pointer = pointer ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Pointee>.alignment)! }
    init(_ pointer: UnsafePointer<Pointee>?) { self.init(pointer.map(UnsafeMutablePointer.init(mutating:))) }
    /// The same address as a pointer to `type`, for calling a kernel of the concrete scalar type.
    func cast<T>(_ type: T.Type) -> UnsafeMutablePointer<T> { UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: T.self) }
}
