import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where matrix products run: a CBLAS library loaded at run time, or Rucksack's built-in kernels.
///
/// ``current`` is chosen once per process from the environment:
/// - `RUCKSACK_BLAS` unset: OpenBLAS (Debian's `libopenblas0`) or another CBLAS the dynamic
///   linker finds, unless OpenBLAS says it runs kernels for an older instruction set than the
///   built-in kernels use (``prefersLibrary(coreName:over:)``); else the built-in kernels;
/// - `RUCKSACK_BLAS=builtin`: the built-in kernels;
/// - `RUCKSACK_BLAS=/path/to/lib.so`: that CBLAS library.
///
/// `RUCKSACK_THREADS` sets the number of threads for either backend (default: all cores).
/// Rucksack splits the work over them itself (``splitsProducts``); OpenBLAS runs single-threaded.
public struct MatrixBackend: Sendable {
    enum Engine: Sendable {
        case builtin
        case cblas(CBLASLibrary)
    }

    let engine: Engine
    /// The built-in kernels' set (unused for a library). A stored property rather than a payload
    /// of `.builtin`: beside the library's class reference, a second payload makes Swift keep the
    /// case in the reference's spare bits, and LeakSanitizer then no longer sees the reference.
    let kernels: BuiltinInstructionSet
    /// The number of threads a product may use.
    public let threads: Int

    /// Rucksack's own cache-blocked kernels, vectorised for `instructionSet` (by default the
    /// best this CPU supports; a set it lacks gives way to the best it has). The set belongs to
    /// this value, so a test or benchmark that picks one changes no other product.
    public static func builtin(threads: Int = defaultThreadCount, instructionSet: BuiltinInstructionSet = .best) -> MatrixBackend {
        MatrixBackend(engine: .builtin, kernels: min(instructionSet, .best), threads: max(1, threads))
    }

    /// A CBLAS library at `path` (a file path or a name the dynamic linker resolves); OpenBLAS
    /// is set to one thread of its own (process-wide), and Rucksack shares products over `threads`.
    public static func cblas(path: String, threads: Int = defaultThreadCount) throws -> MatrixBackend {
        let library = try CBLASLibrary(path: path)
        // Rucksack shares the work out itself (whole batches of small products per thread); a
        // library threading each product as well had its idle threads spin beside Rucksack's.
        library.setThreads?(1)
        return MatrixBackend(engine: .cblas(library), kernels: .best, threads: max(1, threads))
    }

    /// The first CBLAS library found among the usual names, if any.
    public static func systemCBLAS(threads: Int = defaultThreadCount) -> MatrixBackend? {
        for name in CBLASLibrary.defaultCandidates {
            if let backend = try? cblas(path: name, threads: threads) { return backend }
        }
        return nil
    }

    /// `RUCKSACK_THREADS`, or the number of active cores.
    public static var defaultThreadCount: Int {
        if let text = environment("RUCKSACK_THREADS"), let value = Int(text), value > 0 { return value }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The backend chosen from `RUCKSACK_BLAS` and `RUCKSACK_THREADS`, with a note when a request
    /// could not be honoured.
    public static let selection: (backend: MatrixBackend, note: String?) = {
        switch environment("RUCKSACK_BLAS") {
        case "builtin":
            return (.builtin(), nil)
        case let path? where !path.isEmpty:
            do { return (try .cblas(path: path), nil) } catch {
                return (.builtin(), "RUCKSACK_BLAS: \(error); using the built-in kernels")
            }
        default:
            guard let library = systemCBLAS() else { return (.builtin(), nil) }
            // The best set the CPU supports, not the active one, which a benchmark or test may have lowered.
            let (useLibrary, reason) = prefersLibrary(coreName: library.coreName, over: .best)
            return useLibrary ? (library, reason) : (.builtin(), reason + "; RUCKSACK_BLAS=\(library.libraryPath ?? "<library>") forces it")
        }
    }()

    /// Whether a CBLAS library whose OpenBLAS kernel family is `coreName` beats the built-in
    /// kernels at `builtin`, with the reason in words. OpenBLAS picks a kernel family per CPU,
    /// and an old release may fall back to a generic one (`Prescott`) on a CPU it does not know;
    /// a family below the built-in instruction set loses. A library that does not say (not
    /// OpenBLAS, or an unknown family) is trusted.
    public static func prefersLibrary(coreName: String?, over builtin: BuiltinInstructionSet) -> (Bool, String) {
        guard let coreName else { return (true, "the CBLAS library does not name its kernels; using it") }
        let level: BuiltinInstructionSet?
        switch coreName.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": level = .avx512
        case "haswell", "zen": level = .avx2
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "barcelona", "bobcat",
             "bulldozer", "piledriver", "steamroller", "excavator", "opteron", "opteron_sse3", "katmai", "coppermine",
             "northwood", "banias", "athlon", "generic":
            level = .baseline
        default: level = nil
        }
        guard let level else { return (true, "OpenBLAS runs its \(coreName) kernels; using them") }
        if level.rawValue < builtin.rawValue {
            return (false, "OpenBLAS runs its \(coreName) kernels (\(level)) on this CPU, below the built-in \(builtin) kernels; using those")
        }
        return (true, "OpenBLAS runs its \(coreName) kernels (\(level)); using them")
    }

    /// The process-wide backend every tensor product uses unless told otherwise.
    public static var current: MatrixBackend { selection.backend }

    /// A one-line description, e.g. `OpenBLAS (libopenblas.so.0), 2 threads`.
    public var name: String {
        switch engine {
        case .builtin:
            return "built-in kernels (\(kernels)), \(threads) thread\(threads == 1 ? "" : "s")"
        case let .cblas(library):
            return "CBLAS from \(library.path), \(threads) thread\(threads == 1 ? "" : "s")"
        }
    }

    /// The kernel family OpenBLAS runs (`openblas_get_corename`), or `nil` for other backends.
    public var coreName: String? {
        if case let .cblas(library) = engine { return library.coreName }
        return nil
    }

    /// The CBLAS library's path or name, or `nil` for the built-in kernels.
    public var libraryPath: String? {
        if case let .cblas(library) = engine { return library.path }
        return nil
    }

    /// The CBLAS library's own `cblas_sgemm` and `cblas_dgemm`, for benchmarks that call them
    /// directly; `nil` for the built-in kernels.
    public var cblasRoutines: (sgemm: CBLASSignature.SGEMM, dgemm: CBLASSignature.DGEMM)? {
        if case let .cblas(library) = engine { return (library.sgemm, library.dgemm) }
        return nil
    }

    /// Whether Rucksack splits products over its threads and calls the engine single-threaded:
    /// the built-in kernels, and OpenBLAS (held at one thread of its own). Another CBLAS library
    /// threads each product itself.
    public var splitsProducts: Bool {
        switch engine {
        case .builtin: return true
        case let .cblas(library): return library.setThreads != nil
        }
    }

    /// Whether this is the built-in backend.
    public var isBuiltin: Bool { instructionSet != nil }

    /// The instruction set of the built-in kernels, or `nil` for a CBLAS library.
    public var instructionSet: BuiltinInstructionSet? {
        if case .builtin = engine { return kernels }
        return nil
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
