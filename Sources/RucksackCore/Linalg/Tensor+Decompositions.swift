/// Where a symmetric decomposition runs: LAPACK from a loaded library, or Rucksack's own code.
public enum DecompositionBackend: Sendable, CustomStringConvertible {
    /// Householder tridiagonalisation with implicit QR, and a row-by-row Cholesky, in Float64.
    case builtin
    case lapack(LAPACKLibrary)

    /// LAPACK where a library provides it (``LAPACKLibrary/system``), else the built-in code.
    public static var current: DecompositionBackend { LAPACKLibrary.system.map(DecompositionBackend.lapack) ?? .builtin }

    public var description: String {
        switch self {
        case .builtin: "built-in"
        case let .lapack(library): "LAPACK from \(library.path)"
        }
    }
}

/// `A = V diag(eigenvalues) Vᵀ` for a symmetric matrix `A`.
public struct SymmetricEigendecomposition<Scalar: TensorScalar>: Sendable {
    /// `[n]`, ascending.
    public var eigenvalues: Tensor<Scalar>
    /// `[n, n]`, orthonormal; column `j` belongs to `eigenvalues[j]` (as NumPy's `eigh`).
    public var eigenvectors: Tensor<Scalar>

    /// `V diag(f(eigenvalues)) Vᵀ`, e.g. `{ 1 / ($0 + λ) }` for a damped inverse.
    public func reconstructed(applying transform: (Scalar) -> Scalar) throws -> Tensor<Scalar> {
        let n = eigenvalues.count
        let values = eigenvalues.scalars.map(transform)
        var scaled = eigenvectors.scalars
        for row in 0..<n {
            for column in 0..<n { scaled[row * n + column] *= values[column] }
        }
        return try Tensor(shape: [n, n], scalars: scaled).matmul(eigenvectors, transposingOther: true)
    }
}

/// Why a decomposition failed.
public enum DecompositionError: Error, Equatable, Sendable, CustomStringConvertible {
    case notSquare(operation: String, shape: [Int])
    case nonFinite(operation: String)
    /// The leading minor of this order is not positive (LAPACK's `info` convention).
    case notPositiveDefinite(operation: String, order: Int)
    case didNotConverge(operation: String, iterations: Int)
    case lapackFailed(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .notSquare(operation, shape): "\(operation): needs a square matrix, got shape \(shape)"
        case let .nonFinite(operation): "\(operation): the matrix holds NaN or infinity"
        case let .notPositiveDefinite(operation, order):
            "\(operation): the matrix is not positive definite (its leading minor of order \(order) is not positive)"
        case let .didNotConverge(operation, iterations): "\(operation): no convergence after \(iterations) iterations"
        case let .lapackFailed(routine, info): "LAPACK \(routine) failed with info = \(info)"
        }
    }
}

extension Tensor {
    /// The eigendecomposition of a symmetric `[n, n]` matrix; only its lower triangle is read.
    public func symmetricEigendecomposition(backend: DecompositionBackend = .current) throws -> SymmetricEigendecomposition<Scalar> {
        let n = try squareSide(operation: "symmetric eigendecomposition")
        let (values, vectors): ([Scalar], [Scalar])  // vectors: row j is eigenvector j
        switch backend {
        case .builtin:
            let (w, v) = try BuiltinDecompositions.eigendecomposition(scalars.map(Double.init), n: n)
            (values, vectors) = (w.map(Scalar.init), v.map(Scalar.init))
        case let .lapack(library):
            (values, vectors) = try lapackEigendecomposition(library, n: n)
        }
        let rows = try Tensor(shape: [n, n], scalars: vectors)
        return SymmetricEigendecomposition(eigenvalues: try Tensor(shape: [n], scalars: values), eigenvectors: try rows.transposed())
    }

    /// The lower-triangular `L` with `A = L Lᵀ` of a symmetric positive definite `[n, n]`
    /// matrix; only its lower triangle is read.
    public func choleskyFactor(backend: DecompositionBackend = .current) throws -> Tensor {
        let n = try squareSide(operation: "Cholesky factorisation")
        var factor: [Scalar]
        switch backend {
        case .builtin:
            factor = try BuiltinDecompositions.cholesky(scalars.map(Double.init), n: n).map(Scalar.init)
        case let .lapack(library):
            factor = try lapackCholesky(library, n: n)
        }
        for row in 0..<n {
            for column in (row + 1)..<Swift.max(row + 1, n) { factor[row * n + column] = 0 }
        }
        return try Tensor(shape: [n, n], scalars: factor)
    }

    /// `A⁻¹` of a symmetric positive definite matrix, through its Cholesky factor:
    /// `A⁻¹ = L⁻ᵀ L⁻¹`.
    public func positiveDefiniteInverse(backend: DecompositionBackend = .current) throws -> Tensor {
        let factor = try choleskyFactor(backend: backend)
        let n = shape[0]
        let inverseFactor = BuiltinDecompositions.lowerTriangularInverse(factor.scalars.map(Double.init), n: n)
        let l = try Tensor<Double>(shape: [n, n], scalars: inverseFactor)
        return try Tensor(shape: [n, n], scalars: l.matmul(l, transposingSelf: true).scalars.map(Scalar.init))
    }

    private func squareSide(operation: String) throws -> Int {
        guard rank == 2, shape[0] == shape[1] else { throw DecompositionError.notSquare(operation: operation, shape: shape) }
        guard isFinite else { throw DecompositionError.nonFinite(operation: operation) }
        guard shape[0] <= Int(Int32.max) / Swift.max(1, shape[0]) else {
            throw MatrixBackendError.dimensionTooLarge(operation: operation, shape: shape)
        }
        return shape[0]
    }

    // The row-major lower triangle is LAPACK's column-major upper one; its column-major
    // eigenvectors, read row-major, are the rows.

    private func lapackEigendecomposition(_ library: LAPACKLibrary, n: Int) throws -> ([Scalar], [Scalar]) {
        guard n > 0 else { return ([], []) }
        if Scalar.self == Float.self {
            let (w, v) = try Self.syevd(library.floatEigen, scalars as! [Float], n: n, routine: "ssyevd")
            return (w as! [Scalar], v as! [Scalar])
        }
        let (w, v) = try Self.syevd(library.doubleEigen, scalars as! [Double], n: n, routine: "dsyevd")
        return (w as! [Scalar], v as! [Scalar])
    }

    private static func syevd<S: TensorScalar>(
        _ routine: LAPACKLibrary.Eigen<S>, _ matrix: [S], n: Int, routine name: String
    ) throws -> ([S], [S]) {
        var a = matrix, w = [S](repeating: 0, count: n)
        var size = Int32(n), info: Int32 = 0
        // A workspace query first, then the call.
        var workSize: S = 0, iworkSize: Int32 = 0, query: Int32 = -1
        routine(&size, &a, &w, &workSize, &query, &iworkSize, &query, &info)
        guard info == 0 else { throw DecompositionError.lapackFailed(routine: name, info: Int(info)) }
        var lwork = Int32(workSize), liwork = iworkSize
        var work = [S](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        routine(&size, &a, &w, &work, &lwork, &iwork, &liwork, &info)
        if info > 0 { throw DecompositionError.didNotConverge(operation: name, iterations: Int(info)) }
        guard info == 0 else { throw DecompositionError.lapackFailed(routine: name, info: Int(info)) }
        return (w, a)
    }

    private func lapackCholesky(_ library: LAPACKLibrary, n: Int) throws -> [Scalar] {
        guard n > 0 else { return [] }
        if Scalar.self == Float.self {
            return try Self.potrf(library.floatFactor, scalars as! [Float], n: n, routine: "spotrf") as! [Scalar]
        }
        return try Self.potrf(library.doubleFactor, scalars as! [Double], n: n, routine: "dpotrf") as! [Scalar]
    }

    private static func potrf<S: TensorScalar>(_ routine: LAPACKLibrary.Factor<S>, _ matrix: [S], n: Int, routine name: String) throws -> [S] {
        var a = matrix, size = Int32(n), info: Int32 = 0
        routine(&size, &a, &info)
        if info > 0 { throw DecompositionError.notPositiveDefinite(operation: "Cholesky factorisation", order: Int(info)) }
        guard info == 0 else { throw DecompositionError.lapackFailed(routine: name, info: Int(info)) }
        return a
    }
}
