import Foundation

/// The processes of a data-parallel job: this process's rank, how many there are, and the
/// collective operations Rucksack needs. ``SingleProcess`` is the job of one; ``MPICommunicator``
/// runs on MPI when the program was started by `mpirun`.
public protocol Communicator: Sendable {
    /// This process's number, `0..<size`.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces `values` with their element-wise sum over all processes; every process passes as many.
    func allreduceSum(_ values: inout [Double]) throws
    /// Float version of ``allreduceSum(_:)-(inout [Double])``.
    func allreduceSum(_ values: inout [Float]) throws
    /// Every process's bytes, in rank order; each may pass a different count.
    func allgather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Ends every process of the job at once, after `message` went to standard error.
    func abort(_ message: String) -> Never
    /// Ends the collective part; call once, after the last collective operation.
    func finalize() throws
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Throws on every process unless all pass the same bytes (their FNV-1a hashes are
    /// gathered), naming the processes that differ from process 0 and `what` was compared.
    public func requireSameJob(_ bytes: [UInt8], what: String = "model, weights or options") throws {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let hashes = try allgather(withUnsafeBytes(of: hash.littleEndian) { Array($0) })
        let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differing.isEmpty else { throw MPIError.mismatchedProcesses(ranks: differing, what: what) }
    }

    /// Every named array summed over processes, in one allreduce on one buffer laid out by sorted name.
    public func allreduceSum(named arrays: [String: [Double]]) throws -> [String: [Double]] {
        try Self.packed(arrays) { try allreduceSum(&$0) }
    }

    /// Float version of ``allreduceSum(named:)-([String: [Double]])``.
    public func allreduceSum(named arrays: [String: [Float]]) throws -> [String: [Float]] {
        try Self.packed(arrays) { try allreduceSum(&$0) }
    }

    private static func packed<T>(_ arrays: [String: [T]], _ reduce: (inout [T]) throws -> Void) throws -> [String: [T]] {
        let names = arrays.keys.sorted()
        var buffer = names.flatMap { arrays[$0]! }
        try reduce(&buffer)
        var offset = 0
        var result: [String: [T]] = [:]
        for name in names {
            result[name] = Array(buffer[offset..<(offset + arrays[name]!.count)])
            offset += arrays[name]!.count
        }
        return result
    }

    /// The sum over processes of one number.
    public func sum(_ value: Double) throws -> Double {
        var values = [value]
        try allreduceSum(&values)
        return values[0]
    }
}

/// A job of one process: every collective operation returns its input.
public struct SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: inout [Double]) throws {}
    public func allreduceSum(_ values: inout [Float]) throws {}
    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
    public func finalize() throws {}
}

/// The communicator of this process: MPI's world when an MPI launcher started it (Open MPI's
/// `OMPI_COMM_WORLD_SIZE`, or `PMI_SIZE`/`PMIX_RANK` of other launchers, is set), otherwise a
/// single process. `RUCKSACK_MPI=off` forces a single process, `RUCKSACK_MPI=/path/libmpi.so`
/// names the library. Initialises MPI once per process.
public enum Communicators {
    public static func current() throws -> any Communicator {
        try lock.withLock {
            if let cached { return cached }
            let environment = ProcessInfo.processInfo.environment
            let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { environment[$0] != nil }
            let setting = environment["RUCKSACK_MPI"]
            let communicator: any Communicator = setting == "off" || (!launched && setting == nil)
                ? SingleProcess() : try MPICommunicator(library: setting.flatMap { $0.hasPrefix("/") ? $0 : nil })
            cached = communicator
            return communicator
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: (any Communicator)?
}
