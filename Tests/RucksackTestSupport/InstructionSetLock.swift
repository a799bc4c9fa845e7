import Foundation

/// Tests run in parallel in one process, and the built-in kernels' instruction set is global:
/// a test that switches it changes the rounding of every product running meanwhile. Tests that
/// switch it, and tests that compare two runs bit for bit, hold this lock.
public enum InstructionSetLock {
    private static let lock = NSLock()

    public static func holding<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
