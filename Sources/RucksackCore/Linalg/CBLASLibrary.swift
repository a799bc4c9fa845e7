#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C signatures of the CBLAS routines Rucksack calls (for `gemm`: order, transposes, m, n, k,
/// alpha, A, lda, B, ldb, beta, C, ldc), for code that resolves them with `dlsym`.
public enum CBLASSignature {
    public typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    public typealias DGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
        UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void
    /// `cblas_ssyrk`: order, triangle, transpose, n, k, alpha, A, lda, beta, C, ldc.
    public typealias SSYRK = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    public typealias DSYRK = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void
}

/// A CBLAS shared library opened at run time with `dlopen`, so that building Rucksack never
/// requires BLAS headers or a link-time dependency.
final class CBLASLibrary: @unchecked Sendable {  // immutable after init; C function pointers only
    typealias SGEMM = CBLASSignature.SGEMM
    typealias DGEMM = CBLASSignature.DGEMM
    typealias SetThreads = @convention(c) (Int32) -> Void

    /// The path or soname that was opened.
    let path: String
    let sgemm: SGEMM
    let dgemm: DGEMM
    /// The symmetric rank-k updates, for Gram matrices at half a product's work; `nil` where the
    /// library lacks them.
    let syrk: (s: CBLASSignature.SSYRK, d: CBLASSignature.DSYRK)?
    /// OpenBLAS's thread control, absent from other CBLAS libraries.
    let setThreads: SetThreads?
    /// The kernel family OpenBLAS chose for this CPU (`openblas_get_corename`), e.g. `Haswell`;
    /// `nil` for other libraries.
    let coreName: String?

    /// Names tried, in order, when no library is named: Debian's OpenBLAS (`libopenblas0`), then
    /// any CBLAS that the dynamic linker finds.
    static let defaultCandidates = [
        "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libcblas.so.3", "libblas.so.3",
    ]

    /// Opens `path` and resolves `cblas_sgemm` and `cblas_dgemm`, and `cblas_ssyrk` and `cblas_dsyrk` where present.
    init(path: String) throws {
        let handle = try openLinearAlgebraLibrary(path)
        guard let s = dlsym(handle, "cblas_sgemm"), let d = dlsym(handle, "cblas_dgemm") else {
            dlclose(handle)
            throw MatrixBackendError.missingSymbol(path: path, symbol: "cblas_sgemm/cblas_dgemm")
        }
        self.path = path
        sgemm = unsafeBitCast(s, to: SGEMM.self)
        dgemm = unsafeBitCast(d, to: DGEMM.self)
        if let s = dlsym(handle, "cblas_ssyrk"), let d = dlsym(handle, "cblas_dsyrk") {
            syrk = (unsafeBitCast(s, to: CBLASSignature.SSYRK.self), unsafeBitCast(d, to: CBLASSignature.DSYRK.self))
        } else {
            syrk = nil
        }
        setThreads = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }
        typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
        coreName = dlsym(handle, "openblas_get_corename")
            .flatMap { unsafeBitCast($0, to: CoreName.self)() }
            .map { String(cString: $0) }
        // The handle stays open for the life of the process: the function pointers point into it.
    }
}

/// Opens a BLAS or LAPACK library with `dlopen`.
///
/// Unless the environment names a thread count for OpenBLAS, `OPENBLAS_NUM_THREADS` is set to 1
/// first: OpenBLAS starts its thread pool when it is loaded, and its idle threads poll for work
/// (`sched_yield`) for a while afterwards, beside Rucksack's own threads on the same cores,
/// although Rucksack only ever calls it single-threaded.
func openLinearAlgebraLibrary(_ path: String) throws -> UnsafeMutableRawPointer {
    setenv("OPENBLAS_NUM_THREADS", "1", 0)
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
        let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
        throw MatrixBackendError.libraryNotLoadable(path: path, reason: reason)
    }
    return handle
}

/// Why a BLAS library could not be used.
public enum MatrixBackendError: Error, Equatable, Sendable, CustomStringConvertible {
    case libraryNotLoadable(path: String, reason: String)
    case missingSymbol(path: String, symbol: String)
    case dimensionTooLarge(operation: String, shape: [Int])

    public var description: String {
        switch self {
        case let .libraryNotLoadable(path, reason): "cannot load BLAS library \(path): \(reason)"
        case let .missingSymbol(path, symbol): "BLAS library \(path) has no \(symbol)"
        case let .dimensionTooLarge(operation, shape):
            "\(operation): shape \(shape) exceeds the 32-bit dimensions of the CBLAS interface"
        }
    }
}
