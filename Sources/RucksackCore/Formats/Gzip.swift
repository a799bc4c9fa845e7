import CZlib

/// Decompresses gzip files (RFC 1952) with zlib.
///
/// Every member of a multi-member file is decoded and the outputs are concatenated, as
/// `gunzip` does; zero bytes after the last member are ignored (some tools pad with them),
/// anything else there is an error. zlib checks each member's header (including the header
/// CRC-16 when present), its CRC-32 and its length (ISIZE).
///
/// Errors are ``FormatError`` values that name the byte offset in the compressed input where
/// zlib stopped, with zlib's reason. Malformed input never traps; the output is capped at
/// ``maxOutputSize`` so that a small corrupt or hostile file cannot exhaust memory.
public enum Gzip {
    /// The most bytes ``decompress(_:)`` produces before giving up (2 GiB, or the memory limit
    /// where that is lower).
    public static let maxOutputSize = 1 << 31

    /// Whether `bytes` starts with the gzip magic number `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed contents of all members of the gzip data `bytes`.
    /// - Throws: ``FormatError``: `badMagic` when `bytes` is not gzip, `truncated` when it
    ///   ends inside a member, `invalidHeader` for a bad member header or bytes after a member
    ///   that do not start another, and `corruptCompressedData` for undecodable DEFLATE data,
    ///   a checksum or size mismatch, or output over ``maxOutputSize``.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        try decompress(bytes, limit: min(maxOutputSize, MemoryBudget.limit))
    }

    /// ``decompress(_:)`` with an output cap of `limit` bytes (tests use small caps).
    static func decompress(_ bytes: [UInt8], limit: Int) throws -> [UInt8] {
        guard isGzip(bytes) else {
            // Like the other readers: a prefix of the magic number is a truncated file.
            if bytes.count < 2, bytes.elementsEqual([0x1F].prefix(bytes.count)) {
                throw FormatError.truncated(
                    format: .gzip, section: "member header", offset: 0, needed: 10, available: bytes.count)
            }
            throw FormatError.badMagic(format: .gzip, found: Array(bytes.prefix(8)))
        }
        return try bytes.withUnsafeBufferPointer { input in
            let inflater = try Inflater()
            defer { inflater.end() }
            var output: [UInt8] = []
            var memberStart = 0
            while true {
                let end = try inflater.member(input, from: memberStart, into: &output, limit: limit)
                // Padding zeros may follow the last member; a new member starts with the magic.
                guard let next = input[end...].firstIndex(where: { $0 != 0 }) else { return output }
                guard next + 1 < input.count, input[next] == 0x1F, input[next + 1] == 0x8B else {
                    throw FormatError.invalidHeader(
                        format: .gzip, offset: next,
                        reason: "bytes after the end of a gzip member do not start another member (expected 1f 8b)")
                }
                memberStart = next
            }
        }
    }
}

/// A zlib inflate stream that reads the gzip wrapper, reused across members.
///
/// The `z_stream` lives at a fixed address: zlib keeps a pointer to it and refuses a moved one.
private struct Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    /// The chunk size of output between checks of the cap.
    private static let chunk = 1 << 16

    init() throws {
        stream.initialize(to: z_stream())
        // Window bits 15 + 16: a gzip wrapper and nothing else.
        guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw FormatError.corruptCompressedData(format: .gzip, offset: 0, reason: "zlib could not start: out of memory")
        }
    }

    func end() {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decodes the member at `start`, appending to `output`; returns the offset after its trailer.
    func member(_ input: UnsafeBufferPointer<UInt8>, from start: Int, into output: inout [UInt8], limit: Int) throws -> Int {
        inflateReset(stream)
        let base = UnsafeMutablePointer(mutating: input.baseAddress!)
        var position = start  // the offset of the next input byte zlib has not taken
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        while true {
            // avail_in is 32 bits wide: feed large inputs in pieces.
            let available = UInt32(min(input.count - position, Int(UInt32.max)))
            stream.pointee.next_in = base + position
            stream.pointee.avail_in = available
            let (status, produced) = buffer.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(out.count)
                let status = inflate(stream, Z_NO_FLUSH)
                return (status, out.count - Int(stream.pointee.avail_out))
            }
            position += Int(available - stream.pointee.avail_in)
            guard produced <= limit - output.count else {
                throw FormatError.corruptCompressedData(
                    format: .gzip, offset: position, reason: "the decompressed data exceeds the limit of \(limit) bytes")
            }
            output.append(contentsOf: buffer[..<produced])
            switch status {
            case Z_STREAM_END:
                return position
            case Z_OK where position < input.count || produced > 0:
                continue
            case Z_OK, Z_BUF_ERROR:
                throw FormatError.truncated(
                    format: .gzip, section: "the member that starts at byte offset \(start)",
                    offset: position, needed: 1, available: input.count - position)
            default:
                throw error(status, at: position)
            }
        }
    }

    /// zlib's failure as a ``FormatError``: header problems as invalid headers, the rest as corrupt data.
    private func error(_ status: Int32, at offset: Int) -> FormatError {
        let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        let headerProblems = ["incorrect header check", "unknown compression method", "unknown header flags set"]
        if headerProblems.contains(reason) {
            return .invalidHeader(format: .gzip, offset: offset, reason: reason)
        }
        return .corruptCompressedData(format: .gzip, offset: offset, reason: reason)
    }
}
