#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The LAPACK routines Rucksack calls, resolved with `dlsym` from a shared library that also
/// provides LAPACK (OpenBLAS does), so that building Rucksack never needs LAPACK.
///
/// The routines use Fortran's calling convention: every argument by reference, matrices in
/// column-major order, and one trailing hidden length per character argument (passed as 1;
/// routines that do not expect them ignore them).
public final class LAPACKLibrary: @unchecked Sendable {  // immutable after init; C function pointers only
    // jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, len(jobz), len(uplo)
    typealias SSYEVD = @convention(c) (
        UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafePointer<Int32>, UnsafeMutablePointer<Float>, UnsafePointer<Int32>,
        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<Int32>, UnsafeMutablePointer<Int32>,
        UnsafePointer<Int32>, UnsafeMutablePointer<Int32>, Int, Int) -> Void
    typealias DSYEVD = @convention(c) (
        UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
        UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>, UnsafeMutablePointer<Int32>,
        UnsafePointer<Int32>, UnsafeMutablePointer<Int32>, Int, Int) -> Void
    // uplo, n, a, lda, info, len(uplo)
    typealias SPOTRF = @convention(c) (
        UnsafePointer<CChar>, UnsafePointer<Int32>, UnsafeMutablePointer<Float>, UnsafePointer<Int32>,
        UnsafeMutablePointer<Int32>, Int) -> Void
    typealias DPOTRF = @convention(c) (
        UnsafePointer<CChar>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
        UnsafeMutablePointer<Int32>, Int) -> Void

    /// `syevd` without the fixed arguments: n, a, w, work, lwork, iwork, liwork, info.
    typealias Eigen<S> = (
        UnsafePointer<Int32>, UnsafeMutablePointer<S>, UnsafeMutablePointer<S>, UnsafeMutablePointer<S>, UnsafePointer<Int32>,
        UnsafeMutablePointer<Int32>, UnsafePointer<Int32>, UnsafeMutablePointer<Int32>) -> Void
    /// `potrf` without the fixed arguments: n, a, info.
    typealias Factor<S> = (UnsafePointer<Int32>, UnsafeMutablePointer<S>, UnsafeMutablePointer<Int32>) -> Void

    /// The path or soname that was opened.
    public let path: String
    private let ssyevd: SSYEVD
    private let dsyevd: DSYEVD
    private let spotrf: SPOTRF
    private let dpotrf: DPOTRF

    // Eigenvectors ("V") from the upper triangle ("U") in column-major order.
    var floatEigen: Eigen<Float> { { [ssyevd] in ssyevd("V", "U", $0, $1, $0, $2, $3, $4, $5, $6, $7, 1, 1) } }
    var doubleEigen: Eigen<Double> { { [dsyevd] in dsyevd("V", "U", $0, $1, $0, $2, $3, $4, $5, $6, $7, 1, 1) } }
    var floatFactor: Factor<Float> { { [spotrf] in spotrf("U", $0, $1, $0, $2, 1) } }
    var doubleFactor: Factor<Double> { { [dpotrf] in dpotrf("U", $0, $1, $0, $2, 1) } }

    /// Opens `path` and resolves `ssyevd_`, `dsyevd_`, `spotrf_` and `dpotrf_`.
    public init(path: String) throws {
        let handle = try openLinearAlgebraLibrary(path)
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(handle, name) else {
                dlclose(handle)
                throw MatrixBackendError.missingSymbol(path: path, symbol: name)
            }
            return pointer
        }
        ssyevd = unsafeBitCast(try symbol("ssyevd_"), to: SSYEVD.self)
        dsyevd = unsafeBitCast(try symbol("dsyevd_"), to: DSYEVD.self)
        spotrf = unsafeBitCast(try symbol("spotrf_"), to: SPOTRF.self)
        dpotrf = unsafeBitCast(try symbol("dpotrf_"), to: DPOTRF.self)
        self.path = path
        // The handle stays open for the life of the process: the function pointers point into it.
    }

    /// The library found from `RUCKSACK_BLAS` as the matrix backend finds its own: none for
    /// `builtin`, the named library for a path, otherwise the first of the usual names that
    /// provides LAPACK (even when its matrix products lost to the built-in kernels: its
    /// decompositions still beat the fallback).
    public static let system: LAPACKLibrary? = {
        switch getenv("RUCKSACK_BLAS").map({ String(cString: $0) }) {
        case "builtin": return nil
        case let path? where !path.isEmpty: return try? LAPACKLibrary(path: path)
        default: return CBLASLibrary.defaultCandidates.lazy.compactMap { try? LAPACKLibrary(path: $0) }.first
        }
    }()
}
