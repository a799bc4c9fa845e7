import CRucksackKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps freed tensor storage in the process for reuse, so that a training loop's steps after
/// the first few touch few or no fresh pages.
///
/// glibc hands out large blocks with `mmap` and gives them back with `munmap`; a step's tensors,
/// freed at its end, come back zero-filled in the next step at one page fault per 4 KiB, about a
/// tenth of the memory bandwidth. ``enable()`` tells the allocator to serve large blocks from its
/// heap and not to trim it. It is process-wide and applied once, by the first backward pass
/// (`Model.compute`); `RUCKSACK_KEEP_FREED_MEMORY=0` leaves the allocator as it is.
///
/// Two limits: memory freed after the largest step stays with the process until it ends; and
/// glibc serves threads other than the main one from heaps of at most 64 MiB, so a larger tensor
/// made on such a thread still gets fresh pages. The command line computes on the main thread.
public enum FreedMemoryReuse {
    /// Applies the setting once per process; later calls do nothing. Returns whether it holds.
    @discardableResult
    public static func enable() -> Bool { isEnabled }

    /// Whether the allocator keeps freed memory (false where opted out or unsupported).
    public static let isEnabled: Bool = {
        if let value = getenv("RUCKSACK_KEEP_FREED_MEMORY").map({ String(cString: $0) }), value == "0" { return false }
        return rk_keep_freed_memory() == 0
    }()
}
