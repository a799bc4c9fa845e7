import Foundation

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
    /// disk and then renamed over the target.
    ///
    /// `rename` within one directory is atomic on POSIX file systems, so a crash or a full
    /// disk never leaves a half-written target. On failure the temporary file
    /// (`.<name>.tmp-<random>`) is removed and an existing target is left untouched.
    /// A replaced file gets default permissions (mode 0666 less the umask), not those of
    /// the file it replaces, and a symbolic link at `url` is replaced rather than followed.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = (directory as NSString).appendingPathComponent(".\(url.lastPathComponent).tmp-\(suffix)")

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
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

/// Reads whole files into memory.
enum FileBytes {
    /// The contents of the file at `url`.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    static func read(from url: URL) throws -> [UInt8] {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FormatError.fileSystem(path: path, operation: "open", reason: errnoText())
        }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FormatError.fileSystem(path: path, operation: "read", reason: errnoText())
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
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
