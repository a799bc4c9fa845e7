import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces files atomically, so that readers and crashes only ever see the old or the new contents.
public enum AtomicFile {
    /// Writes `bytes` to `url` through a temporary file in the same directory, flushed to
    /// disk and then renamed over the target; `beforeReplacing` runs just before the rename.
    ///
    /// `rename` within one directory is atomic on POSIX file systems, so a crash or a full
    /// disk never leaves a half-written target. On failure the temporary file
    /// (`.<name>.tmp-<pid>-<random>`) is removed and an existing target is left untouched; on
    /// SIGINT or SIGTERM, ``removePendingTemporaryFile()`` (which `rucksack` calls from its
    /// signal handlers) removes it; one left by a killed process is removed by the next write
    /// to the same target. A replaced file gets default permissions (mode 0666 less the umask),
    /// not those of the file it replaces, and a symbolic link at `url` is replaced rather than
    /// followed.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    public static func write(_ bytes: [UInt8], to url: URL, beforeReplacing: () -> Void = {}) throws {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).tmp-"
        removeStaleTemporaryFiles(in: directory, prefix: prefix)
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = (directory as NSString).appendingPathComponent("\(prefix)\(getpid())-\(suffix)")

        let descriptor = temporary.withCString { path in
            PendingTemporaryFile.set(path)
            return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        }
        defer { PendingTemporaryFile.clear() }
        guard descriptor >= 0 else {
            throw FormatError.fileSystem(path: target, operation: "create a temporary file for", reason: errnoText())
        }
        var isOpen = true
        do {
            try writeAll(bytes, to: descriptor, path: target)
            guard fsync(descriptor) == 0 else {
                throw FormatError.fileSystem(path: target, operation: "flush", reason: errnoText())
            }
            isOpen = false
            guard close(descriptor) == 0 else {
                throw FormatError.fileSystem(path: target, operation: "close", reason: errnoText())
            }
            beforeReplacing()
            guard rename(temporary, target) == 0 else {
                throw FormatError.fileSystem(path: target, operation: "replace", reason: errnoText())
            }
        } catch {
            // Close at most once: another thread may already own a reused descriptor number.
            if isOpen { _ = close(descriptor) }
            _ = unlink(temporary)
            throw error
        }
    }

    /// Removes the temporary file of a write in progress, if any. Async-signal-safe: a signal
    /// handler may call it, once ``prepareSignalCleanup()`` has run.
    public static func removePendingTemporaryFile() {
        PendingTemporaryFile.remove()
    }

    /// Initialises the state ``removePendingTemporaryFile()`` reads, so that no lazy
    /// initialisation happens inside a signal handler. Call it before installing one.
    public static func prepareSignalCleanup() {
        PendingTemporaryFile.prepare()
    }

    /// Removes `prefix<pid>-*` files whose process no longer exists (left by a killed writer).
    private static func removeStaleTemporaryFiles(in directory: String, prefix: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            if kill(pid, 0) != 0, errno == ESRCH {
                _ = unlink((directory as NSString).appendingPathComponent(name))
            }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var written = 0
            while written < buffer.count {
                let result = posixWrite(descriptor, base + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw FormatError.fileSystem(path: path, operation: "write", reason: errnoText())
                }
                written += result
            }
        }
    }
}

/// The path of the temporary file being written, as a C string that a signal handler can
/// pass to `unlink` without allocating; a lock-free atomic flag, stored after the path is
/// complete, says whether it is valid. One write at a time is tracked (the command line writes
/// one file); a second concurrent write is still atomic, only not cleaned on a signal.
private enum PendingTemporaryFile {
    nonisolated(unsafe) private static let path = UnsafeMutablePointer<CChar>.allocate(capacity: Int(PATH_MAX) + 1)
    private static let isSet = Atomic<Bool>(false)

    static func set(_ cPath: UnsafePointer<CChar>) {
        let length = strlen(cPath)
        isSet.store(false, ordering: .sequentiallyConsistent)
        guard length <= Int(PATH_MAX) else { return }
        memcpy(path, cPath, length + 1)
        isSet.store(true, ordering: .releasing)
    }

    static func clear() { isSet.store(false, ordering: .releasing) }

    static func prepare() { _ = (path, isSet.load(ordering: .relaxed)) }

    static func remove() {
        if isSet.load(ordering: .acquiring) { _ = unlink(path) }
    }
}

/// Reads whole files into memory, safely for files from elsewhere.
public enum FileBytes {
    /// The contents of the regular file at `url`, of at most `limit` bytes (default: the
    /// memory limit).
    ///
    /// Named pipes, devices, sockets and directories are refused before anything is read (a
    /// pipe would block and `/dev/zero` never ends), and so is a file larger than `limit`.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    public static func read(from url: URL, limit: Int = MemoryBudget.limit) throws -> [UInt8] {
        let path = url.path
        // Non-blocking, so that opening a FIFO without a writer returns at once.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw FormatError.fileSystem(path: path, operation: "open", reason: errnoText())
        }
        defer { _ = close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw FormatError.fileSystem(path: path, operation: "inspect", reason: errnoText())
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw FormatError.fileSystem(path: path, operation: "read", reason: "it is \(kind(status.st_mode)), not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= limit else {
            throw FormatError.fileSystem(
                path: path, operation: "read",
                reason: "it has \(MemoryBudget.describe(size)), more than the limit of \(MemoryBudget.describe(limit)) for this file")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FormatError.fileSystem(path: path, operation: "read", reason: errnoText())
            }
            if count == 0 { return bytes }
            // A file that grows while it is read is cut off at the limit, not followed.
            guard bytes.count + count <= limit else {
                throw FormatError.fileSystem(path: path, operation: "read", reason: "it grew past the limit of \(MemoryBudget.describe(limit)) while being read")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }
}

// Module-qualified so that the static `read` and `write` methods above do not shadow them.
private func posixWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
    Musl.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}

private func posixRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(descriptor, buffer, count)
    #elseif canImport(Musl)
    Musl.read(descriptor, buffer, count)
    #else
    Darwin.read(descriptor, buffer, count)
    #endif
}

/// The current `errno` as text, e.g. "No such file or directory (errno 2)".
func errnoText() -> String {
    let code = errno
    return "\(String(cString: strerror(code))) (errno \(code))"
}
