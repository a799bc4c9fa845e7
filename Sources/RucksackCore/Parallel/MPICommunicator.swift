#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// MPI's `MPI_COMM_WORLD`, through Open MPI's C API loaded at run time with `dlopen`, so that
/// building Rucksack never needs MPI. Errors return to the caller (`MPI_ERRORS_RETURN`) and are
/// thrown as ``MPIError`` naming the call.
public final class MPICommunicator: Communicator, @unchecked Sendable {  // immutable after init; C function pointers only
    public let rank: Int
    public let size: Int
    private let api: MPIFunctions

    /// Names tried when none is given: Debian's Open MPI 4 (`openmpi-bin`, `libopenmpi3`).
    static let defaultCandidates = ["libmpi.so.40", "libmpi.so"]

    init(library: String?) throws {
        api = try MPIFunctions(candidates: library.map { [$0] } ?? Self.defaultCandidates)
        var initialized: Int32 = 0
        try api.check("MPI_Initialized", api.initialized(&initialized))
        if initialized == 0 { try api.check("MPI_Init", api.initialize(nil, nil)) }
        try api.check("MPI_Comm_set_errhandler", api.setErrorHandler(api.world, api.errorsReturn))
        var value: Int32 = 0
        try api.check("MPI_Comm_rank", api.commRank(api.world, &value))
        rank = Int(value)
        try api.check("MPI_Comm_size", api.commSize(api.world, &value))
        size = Int(value)
    }

    public func allreduceSum(_ values: inout [Double]) throws { try allreduce(&values, type: api.double) }
    public func allreduceSum(_ values: inout [Float]) throws { try allreduce(&values, type: api.float) }

    private func allreduce<T>(_ values: inout [T], type: OpaquePointer) throws {
        let chunk = 1 << 28
        try values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: chunk) {
                let count = min(chunk, buffer.count - start)
                // MPI_IN_PLACE is `(void *) 1` in Open MPI.
                try api.check("MPI_Allreduce", api.allreduce(UnsafeRawPointer(bitPattern: 1), buffer.baseAddress! + start, Int32(count), type, api.sum, api.world))
            }
        }
    }

    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var counts = [Int32](repeating: 0, count: size)
        var own = Int32(bytes.count)
        try api.check("MPI_Allgather", api.allgather(&own, 1, api.int32, &counts, 1, api.int32, api.world))
        var offsets = [Int32](repeating: 0, count: size)
        for index in 1..<max(size, 1) { offsets[index] = offsets[index - 1] + counts[index - 1] }
        var gathered = [UInt8](repeating: 0, count: Int(counts.reduce(0, +)))
        try api.check("MPI_Allgatherv", api.allgatherv(bytes, own, api.byte, &gathered, counts, offsets, api.byte, api.world))
        return (0..<size).map { Array(gathered[Int(offsets[$0])..<Int(offsets[$0] + counts[$0])]) }
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rank \(rank) of \(size): \(message)\n".utf8))
        _ = api.abort(api.world, 1)
        exit(1)
    }

    public func finalize() throws { try api.check("MPI_Finalize", api.finalize()) }
}

/// A failed MPI call or a library that cannot be used.
public enum MPIError: Error, Equatable, Sendable, CustomStringConvertible {
    case libraryNotLoadable(tried: [String], reason: String)
    case missingSymbol(library: String, symbol: String)
    case callFailed(call: String, code: Int32, message: String)
    /// Processes that have another `what` (model, weights, options, files) than process 0.
    case mismatchedProcesses(ranks: [Int], what: String)

    public var description: String {
        switch self {
        case let .libraryNotLoadable(tried, reason):
            "cannot load MPI (tried \(tried.joined(separator: ", "))): \(reason); install Open MPI (apt-get install openmpi-bin libopenmpi-dev) or set RUCKSACK_MPI=/path/to/libmpi.so"
        case let .missingSymbol(library, symbol): "MPI library \(library) has no \(symbol); Rucksack needs Open MPI"
        case let .callFailed(call, code, message): "\(call) failed with error \(code): \(message)"
        case let .mismatchedProcesses(ranks, what): "processes \(ranks.map(String.init).joined(separator: ", ")) have another \(what) than process 0"
        }
    }
}

/// The MPI functions and predefined objects Rucksack uses, resolved from Open MPI, whose
/// handles are pointers to exported objects (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`).
private struct MPIFunctions {
    typealias Handle = OpaquePointer
    let initialize: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let finalize: @convention(c) () -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let setErrorHandler: @convention(c) (Handle, Handle) -> Int32
    let allreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    let allgather: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    let allgatherv: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, UnsafePointer<Int32>?, UnsafePointer<Int32>?, Handle, Handle) -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let errorString: @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let world, errorsReturn, sum, float, double, int32, byte: Handle

    init(candidates: [String]) throws {
        var reasons: [String] = []
        var opened: (UnsafeMutableRawPointer, String)?
        for name in candidates {
            // Global symbols: Open MPI's own plugins, loaded later, resolve against libmpi.
            if let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) { opened = (handle, name); break }
            reasons.append(dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        guard let (handle, name) = opened else { throw MPIError.libraryNotLoadable(tried: candidates, reason: reasons.joined(separator: "; ")) }
        func symbol(_ symbol: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(handle, symbol) else { throw MPIError.missingSymbol(library: name, symbol: symbol) }
            return address
        }
        func function<T>(_ name: String, _: T.Type) throws -> T { unsafeBitCast(try symbol(name), to: T.self) }
        func object(_ name: String) throws -> Handle { OpaquePointer(try symbol(name)) }
        initialize = try function("MPI_Init", type(of: initialize))
        initialized = try function("MPI_Initialized", type(of: initialized))
        finalize = try function("MPI_Finalize", type(of: finalize))
        commRank = try function("MPI_Comm_rank", type(of: commRank))
        commSize = try function("MPI_Comm_size", type(of: commSize))
        setErrorHandler = try function("MPI_Comm_set_errhandler", type(of: setErrorHandler))
        allreduce = try function("MPI_Allreduce", type(of: allreduce))
        allgather = try function("MPI_Allgather", type(of: allgather))
        allgatherv = try function("MPI_Allgatherv", type(of: allgatherv))
        abort = try function("MPI_Abort", type(of: abort))
        errorString = try function("MPI_Error_string", type(of: errorString))
        world = try object("ompi_mpi_comm_world")
        errorsReturn = try object("ompi_mpi_errors_return")
        sum = try object("ompi_mpi_op_sum")
        float = try object("ompi_mpi_float")
        double = try object("ompi_mpi_double")
        int32 = try object("ompi_mpi_int")
        byte = try object("ompi_mpi_byte")
    }

    /// Throws for a code other than `MPI_SUCCESS` (0), with MPI's own message.
    func check(_ call: String, _ code: Int32) throws {
        guard code != 0 else { return }
        var buffer = [CChar](repeating: 0, count: 512)  // MPI_MAX_ERROR_STRING is 256 in Open MPI
        var length: Int32 = 0
        _ = errorString(code, &buffer, &length)
        throw MPIError.callFailed(call: call, code: code, message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
