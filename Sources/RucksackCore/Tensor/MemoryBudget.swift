#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The most bytes one tensor may take, checked before anything that sizes come from (a model
/// file, a batch, a geometry) is allocated, so that a huge or overflowing size is an error
/// naming the bytes instead of a crash.
///
/// The default is three quarters of physical memory. The limit is a task-local value:
/// `MemoryBudget.$limit.withValue(bytes) { … }` sets it for the work inside (as
/// `rucksack compute --memory-limit` does), without touching concurrent work elsewhere.
public enum MemoryBudget {
    /// The current limit in bytes.
    @TaskLocal public static var limit: Int = defaultLimit

    /// Three quarters of the machine's physical memory (or 8 GiB where it cannot be read).
    public static let defaultLimit: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 8 << 30 }
        let (total, overflow) = Int(pages).multipliedReportingOverflow(by: Int(size))
        return overflow ? Int.max / 4 * 3 : total / 4 * 3
    }()

    /// The bytes `count` elements of `size` bytes take, or `nil` on overflow.
    public static func bytes(elements count: Int, size: Int) -> Int? {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        return overflow ? nil : total
    }

    /// Throws unless a tensor of `shape` with elements of `Scalar` fits the limit; returns its element count.
    @discardableResult
    public static func check<Scalar>(_ shape: [Int], of _: Scalar.Type, operation: String) throws -> Int {
        let count = try Tensor<Float>.elementCount(of: shape, operation: operation)
        guard let total = bytes(elements: count, size: MemoryLayout<Scalar>.stride), total <= limit else {
            throw TensorError.exceedsMemoryLimit(
                operation: operation, shape: shape, bytes: bytes(elements: count, size: MemoryLayout<Scalar>.stride), limit: limit)
        }
        return count
    }

    /// `bytes` for people: `3.1 TB`, `512 MB`.
    public static func describe(_ bytes: Int?) -> String {
        guard let bytes else { return "more than 9.2 EB (the byte count overflows)" }
        let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes), unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
    }
}
