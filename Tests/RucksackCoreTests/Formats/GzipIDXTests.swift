import Foundation
import Testing
@testable import RucksackCore

@Suite("gzip decompression")
struct GzipTests {
    static func error(_ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try Gzip.decompress(bytes)
            return nil
        } catch {
            return error as? FormatError
        }
    }

    /// The 400 bytes compressed in ``GzipVectors/dynamicHuffman``: a 31-bit LCG picking
    /// letters with skewed frequencies, which makes zlib choose a dynamic-Huffman block.
    static let dynamicText: [UInt8] = {
        let alphabet = Array("eeeeeeettttaaoinshrdlu \n".utf8)
        var state: UInt64 = 1
        return (0..<400).map { _ in
            state = (state &* 1_103_515_245 &+ 12_345) % (1 << 31)
            return alphabet[Int((state >> 16) % 24)]
        }
    }()

    @Test("stored, fixed-Huffman and dynamic-Huffman blocks decode")
    func blockTypes() throws {
        #expect(try Gzip.decompress(GzipVectors.stored) == Array("stored block: kept verbatim".utf8))
        #expect(try Gzip.decompress(GzipVectors.fixedHuffman) == Array("abracadabra, abracadabra, abracadabra!".utf8))
        #expect(try Gzip.decompress(GzipVectors.dynamicHuffman) == Self.dynamicText)
    }

    @Test("matches that overlap their own output repeat it")
    func overlappingMatches() throws {
        let expected = [UInt8](repeating: UInt8(ascii: "z"), count: 300)
            + Array(String(repeating: "xyz", count: 100).utf8)
        #expect(try Gzip.decompress(GzipVectors.overlapping) == expected)
    }

    @Test("all members of a multi-member file are decoded, and zero padding after them is ignored")
    func multipleMembers() throws {
        let expected = Array("first member, second member".utf8)
        #expect(try Gzip.decompress(GzipVectors.twoMembers) == expected)
        #expect(try Gzip.decompress(GzipVectors.twoMembers + [0, 0, 0]) == expected)
        #expect(Self.error(GzipVectors.twoMembers + [0, 0x42]) == .invalidHeader(
            format: .gzip, offset: GzipVectors.twoMembers.count + 1,
            reason: "bytes after the end of a gzip member do not start another member (expected 1f 8b)"))
    }

    @Test("FEXTRA, FNAME, FCOMMENT and FHCRC header fields are skipped, and the header CRC-16 checked")
    func headerFields() throws {
        let vector = GzipVectors.allHeaderFields
        #expect(try Gzip.decompress(vector) == Array("header fields: name, comment, extra, CRC-16".utf8))
        var corrupted = vector
        corrupted[29] ^= 0x01  // the CRC-16's low byte
        Self.expectCorrupt(corrupted, "header crc mismatch", near: 29)
        var unterminated = Array(vector[..<24])  // inside the file name "notes.txt"
        #expect(Self.error(unterminated) == Self.truncatedMember(at: 24))
        unterminated[3] = 0x00  // without flags the same bytes are a truncated deflate stream
        #expect(Self.error(unterminated) != nil)
    }

    @Test("a lone distance code of length 1 is allowed")
    func singleDistanceCode() throws {
        #expect(try Gzip.decompress(GzipVectors.singleDistanceCode) == Array("aaaa".utf8))
    }

    @Test("invalid magic, method and flags are rejected, naming the offset")
    func badHeaders() {
        #expect(Self.error([]) == .truncated(
            format: .gzip, section: "member header", offset: 0, needed: 10, available: 0))
        #expect(Self.error([0x1F]) == .truncated(
            format: .gzip, section: "member header", offset: 0, needed: 10, available: 1))
        #expect(Self.error(Array("PK\u{03}\u{04}hello".utf8)) == .badMagic(
            format: .gzip, found: [0x50, 0x4B, 3, 4, 0x68, 0x65, 0x6C, 0x6C]))
        #expect(Self.error([0x1F, 0x8B, 8, 0]) == Self.truncatedMember(at: 4))
        var method = GzipVectors.stored
        method[2] = 7
        Self.expectInvalidHeader(method, "unknown compression method", near: 2)
        var reserved = GzipVectors.stored
        reserved[3] = 0x20
        Self.expectInvalidHeader(reserved, "unknown header flags set", near: 3)
        #expect(Gzip.isGzip(GzipVectors.stored))
        #expect(!Gzip.isGzip([0x1F]))
        #expect(!Gzip.isGzip(Array("plain".utf8)))
    }

    @Test("CRC-32 and ISIZE mismatches are errors at the trailer's offset")
    func trailerMismatch() {
        let vector = GzipVectors.stored
        let trailer = vector.count - 8
        var crc = vector
        crc[trailer] ^= 0xFF
        Self.expectCorrupt(crc, "incorrect data check", near: trailer)
        var size = vector
        size[trailer + 4] &+= 1
        Self.expectCorrupt(size, "incorrect length check", near: trailer + 4)
        #expect(Self.error(Array(vector.dropLast(3))) == Self.truncatedMember(at: vector.count - 3))
    }

    @Test("corrupt DEFLATE streams are rejected with zlib's reason and an offset at the bad code")
    func corruptStreams() throws {
        Self.expectCorrupt(GzipVectors.distanceTooFar, "invalid distance too far back", near: 12)
        Self.expectCorrupt(GzipVectors.overSubscribed, "invalid code lengths set", near: 10)
        // Block type 3 (BFINAL 1, BTYPE 11) right after a bare header.
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        Self.expectCorrupt(header + [0x07] + [UInt8](repeating: 0, count: 8), "invalid block type", near: 10)
        // A stored block whose NLEN is not the complement of LEN.
        Self.expectCorrupt(
            header + [0x01, 5, 0, 0xFA, 0xFE] + Array("hello".utf8) + [UInt8](repeating: 0, count: 8),
            "invalid stored block lengths", near: 11)
    }

    /// zlib reports the offset up to which it had read, a few bytes past the problem at most.
    static func expectCorrupt(_ bytes: [UInt8], _ reason: String, near offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        expect(bytes, "corrupt data", reason, near: offset, sourceLocation: sourceLocation) {
            if case let .corruptCompressedData(.gzip, found, foundReason) = $0 { (found, foundReason) } else { nil }
        }
    }

    static func expectInvalidHeader(_ bytes: [UInt8], _ reason: String, near offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        expect(bytes, "an invalid header", reason, near: offset, sourceLocation: sourceLocation) {
            if case let .invalidHeader(.gzip, found, foundReason) = $0 { (found, foundReason) } else { nil }
        }
    }

    /// Expects the error of the kind `match` picks out (its offset and reason), with `reason`.
    private static func expect(
        _ bytes: [UInt8], _ kind: String, _ reason: String, near offset: Int, sourceLocation: SourceLocation,
        _ match: (FormatError) -> (offset: Int, reason: String)?
    ) {
        guard let thrown = error(bytes), let (found, foundReason) = match(thrown) else {
            Issue.record("expected \(kind) (\(reason)), got \(String(describing: error(bytes)))", sourceLocation: sourceLocation)
            return
        }
        #expect(foundReason == reason, sourceLocation: sourceLocation)
        #expect((offset...(offset + 8)).contains(found), "offset \(found)", sourceLocation: sourceLocation)
    }

    /// The error for input that ends at `offset`, inside the member that starts at 0.
    static func truncatedMember(at offset: Int) -> FormatError {
        .truncated(format: .gzip, section: "the member that starts at byte offset 0", offset: offset, needed: 1, available: 0)
    }

    @Test("the output size cap stops decompression bombs")
    func outputLimit() throws {
        #expect(try Gzip.decompress(GzipVectors.overlapping, limit: 600).count == 600)
        guard case let .corruptCompressedData(.gzip, _, reason) = Self.error(limit: 599, GzipVectors.overlapping) else {
            Issue.record("the output cap was not enforced")
            return
        }
        #expect(reason == "the decompressed data exceeds the limit of 599 bytes")
        #expect(Self.error(limit: 26, GzipVectors.stored) != nil)
    }

    static func error(limit: Int, _ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try Gzip.decompress(bytes, limit: limit)
            return nil
        } catch {
            return error as? FormatError
        }
    }

    @Test("truncated and bit-flipped streams decode or throw FormatError, never crash")
    func fuzz() {
        let vectors = [
            GzipVectors.stored, GzipVectors.fixedHuffman, GzipVectors.dynamicHuffman, GzipVectors.twoMembers,
            GzipVectors.allHeaderFields, GzipVectors.overlapping, GzipVectors.singleDistanceCode,
        ]
        var random = RandomStream(seed: 0x6A1B)
        var unexpected: [String] = []
        var rejected = 0
        func check(_ bytes: [UInt8]) -> Bool {
            do {
                _ = try Gzip.decompress(bytes, limit: 1 << 20)
                return true
            } catch is FormatError {
                rejected += 1
                return false
            } catch {
                unexpected.append("\(error)")
                return false
            }
        }
        for (index, vector) in vectors.enumerated() {
            for length in 0..<vector.count where check(Array(vector[..<length])) {
                // Only the two-member file has a valid proper prefix: its first member.
                if index != 3 { unexpected.append("vector \(index) truncated to \(length) bytes decoded") }
            }
            for _ in 0..<600 {
                var variant = vector
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let position = Int.random(in: 0..<variant.count, using: &random)
                    variant[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
                }
                _ = check(variant)
            }
        }
        #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
        #expect(rejected > 4_000)
    }
}

@Suite("IDX files")
struct IDXTests {
    /// A uint8 array of shape [2, 3, 2] holding 0...11.
    static let small: [UInt8] = [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2] + Array(0..<12)

    static func error(_ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try IDX.decode(bytes)
            return nil
        } catch {
            return error as? FormatError
        }
    }

    @Test("a small unsigned-byte array decodes")
    func decodeSmall() throws {
        let array = try IDX.decode(Self.small)
        #expect(array.dataType == .uint8)
        #expect(array.shape == [2, 3, 2])
        #expect(array.count == 12)
        #expect(try array.uint8Values() == Array(0..<12))
    }

    @Test("multi-byte element types size the payload; only uint8 arrays give uint8 values")
    func elementTypes() throws {
        let shorts = try IDX.decode([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
        #expect(shorts.dataType == .int16)
        #expect(shorts.bytes == [0x01, 0x02, 0xFF, 0xFE])
        #expect(throws: FormatError.idxTypeMismatch(
            operation: "IDXArray.uint8Values()", found: .int16, expected: .uint8)) {
            try shorts.uint8Values()
        }
        let doubles = try IDX.decode([0, 0, 0x0E, 1, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8))
        #expect(doubles.dataType == .float64 && doubles.shape == [1])
    }

    @Test("a payload of the wrong length names both sizes and the offset")
    func wrongPayloadLength() {
        #expect(Self.error(Array(Self.small.dropLast())) == .truncated(
            format: .idx, section: "array data of shape [2, 3, 2]", offset: 16, needed: 12, available: 11))
        #expect(Self.error(Self.small + [99, 99]) == .trailingBytes(format: .idx, offset: 28, count: 2))
    }

    @Test("bad magic, unknown types, zero dimensions and short headers are rejected")
    func badHeaders() {
        #expect(Self.error([1, 0, 8, 1, 0, 0, 0, 0]) == .badMagic(format: .idx, found: [1, 0, 8, 1, 0, 0, 0, 0]))
        #expect(Self.error([0, 0, 0x0A, 1, 0, 0, 0, 0]) == .unsupportedDType(
            format: .idx, offset: 2, dtype: "0x0a", tensor: nil))
        #expect(Self.error([0, 0, 8, 0]) == .invalidShape(
            format: .idx, offset: 3, tensor: nil, reason: "zero dimensions"))
        #expect(Self.error([0, 0, 8]) == .truncated(
            format: .idx, section: "header", offset: 0, needed: 4, available: 3))
        #expect(Self.error([0, 0, 8, 2, 0, 0, 0, 1]) == .truncated(
            format: .idx, section: "dimension sizes", offset: 4, needed: 8, available: 4))
        // 2^32-1 cubed elements of 8 bytes overflow Int.
        let huge: [UInt8] = [0, 0, 0x0E, 3] + [UInt8](repeating: 0xFF, count: 12)
        #expect(Self.error(huge) != nil)
    }

    @Test("read(from:) accepts plain and gzip-compressed files")
    func readFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = directory.appendingPathComponent("small-idx3-ubyte")
        let compressed = directory.appendingPathComponent("small-idx3-ubyte.gz")
        try AtomicFile.write(Self.small, to: plain)
        try AtomicFile.write(GzipVectors.gzippedIDX, to: compressed)
        #expect(try IDX.read(from: plain) == IDX.decode(Self.small))
        #expect(try IDX.read(from: compressed) == IDX.decode(Self.small))
        let broken = directory.appendingPathComponent("broken.gz")
        try AtomicFile.write(Array(GzipVectors.gzippedIDX.dropLast()), to: broken)
        #expect(throws: FormatError.self) { try IDX.read(from: broken) }
        do {
            _ = try IDX.read(from: broken)
        } catch let error as FormatError {
            guard case let .inFile(path, _) = error, case .truncated = error.underlying else {
                Issue.record("expected a truncation in the file, got \(error)")
                return
            }
            #expect(path == broken.path)
        }
    }
}

/// Test vectors made with Python's `gzip` and `zlib` modules (CPython 3.11, zlib 1.2.13);
/// the hand-made DEFLATE streams were written bit by bit and, where valid, checked with
/// `zlib.decompress`.
private enum GzipVectors {
    static let stored: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x01, 0x1B, 0x00, 0xE4, 0xFF, 0x73,
        0x74, 0x6F, 0x72, 0x65, 0x64, 0x20, 0x62, 0x6C, 0x6F, 0x63, 0x6B, 0x3A, 0x20, 0x6B, 0x65, 0x70,
        0x74, 0x20, 0x76, 0x65, 0x72, 0x62, 0x61, 0x74, 0x69, 0x6D, 0x03, 0x6C, 0xFC, 0x61, 0x1B, 0x00,
        0x00, 0x00,
    ]

    static let fixedHuffman: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4B, 0x4C, 0x2A, 0x4A, 0x4C, 0x4E,
        0x4C, 0x49, 0x04, 0x52, 0x3A, 0x0A, 0x89, 0x38, 0x38, 0x8A, 0x00, 0x8B, 0x7C, 0x5B, 0x58, 0x26,
        0x00, 0x00, 0x00,
    ]

    static let dynamicHuffman: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x1D, 0x90, 0x4B, 0x0E, 0x00, 0x21,
        0x08, 0x43, 0xF7, 0x9E, 0x82, 0xAB, 0x91, 0xD8, 0x04, 0x13, 0x02, 0x89, 0xD6, 0xFB, 0x4F, 0x1D,
        0x17, 0x7E, 0xA0, 0x3C, 0x29, 0xCB, 0x38, 0xA7, 0x6F, 0x38, 0x7A, 0xB8, 0xC7, 0x60, 0x11, 0x8B,
        0xA3, 0x0A, 0x15, 0x64, 0x06, 0xCC, 0x9D, 0x4D, 0x64, 0xDE, 0xE2, 0xBA, 0x8E, 0x4D, 0xC2, 0xB7,
        0x81, 0x01, 0xEA, 0x6A, 0xD0, 0xA2, 0x19, 0xFC, 0xDD, 0x1A, 0x43, 0xFB, 0x99, 0x7C, 0x41, 0xD0,
        0x67, 0xBF, 0x73, 0x63, 0xDF, 0x3F, 0x61, 0x13, 0x82, 0xAA, 0xF6, 0x30, 0xB1, 0xAE, 0x08, 0x8A,
        0xF6, 0x22, 0x5D, 0xAA, 0x4A, 0x4C, 0x91, 0x28, 0x49, 0x48, 0xDD, 0x71, 0xFA, 0xA2, 0x1D, 0xD7,
        0x8C, 0x4B, 0x61, 0x61, 0x5C, 0x02, 0x0C, 0xFF, 0xD1, 0x43, 0xC5, 0x1B, 0x7D, 0x80, 0x52, 0xE6,
        0x14, 0x64, 0xC4, 0xEB, 0xEF, 0xC6, 0xD7, 0xA1, 0x15, 0xD3, 0x2E, 0x4F, 0x2A, 0x30, 0x90, 0x74,
        0xD5, 0x34, 0xEA, 0x0E, 0x95, 0x0B, 0xA3, 0xA7, 0xA7, 0x77, 0x88, 0x2B, 0x7B, 0x08, 0x5B, 0xCF,
        0xCE, 0xFB, 0x03, 0x4A, 0x9C, 0xD0, 0xF3, 0x35, 0x1E, 0xE3, 0x11, 0x3B, 0x9A, 0x35, 0x77, 0xAF,
        0xC2, 0x3A, 0x29, 0x79, 0x22, 0x05, 0x28, 0xB9, 0x9B, 0xEA, 0x8F, 0x11, 0x87, 0x1A, 0x58, 0xE2,
        0xFA, 0x91, 0xA1, 0x8C, 0x83, 0x32, 0x6E, 0x7D, 0xE8, 0x6F, 0x44, 0xA9, 0x1E, 0x57, 0xF6, 0xDE,
        0x0E, 0x44, 0xCC, 0x2D, 0x07, 0x7B, 0xF9, 0x3F, 0xA1, 0x06, 0xE7, 0x3B, 0x35, 0xB3, 0xEB, 0xBC,
        0x76, 0xF7, 0x07, 0xB7, 0xEF, 0x91, 0xF3, 0x90, 0x01, 0x00, 0x00,
    ]

    static let twoMembers: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4B, 0xCB, 0x2C, 0x2A, 0x2E, 0x51,
        0xC8, 0x4D, 0xCD, 0x4D, 0x4A, 0x2D, 0xD2, 0x51, 0x00, 0x00, 0xDE, 0xFF, 0x0A, 0x62, 0x0E, 0x00,
        0x00, 0x00, 0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x2B, 0x4E, 0x4D, 0xCE,
        0xCF, 0x4B, 0x51, 0xC8, 0x4D, 0xCD, 0x4D, 0x4A, 0x2D, 0x02, 0x00, 0x24, 0x74, 0xFA, 0x9F, 0x0D,
        0x00, 0x00, 0x00,
    ]

    static let allHeaderFields: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x04, 0x00, 0x52, 0x6B, 0x00, 0x00,
        0x6E, 0x6F, 0x74, 0x65, 0x73, 0x2E, 0x74, 0x78, 0x74, 0x00, 0x68, 0x69, 0x00, 0xE6, 0x20, 0xCB,
        0x48, 0x4D, 0x4C, 0x49, 0x2D, 0x52, 0x48, 0xCB, 0x4C, 0xCD, 0x49, 0x29, 0xB6, 0x52, 0xC8, 0x4B,
        0xCC, 0x4D, 0xD5, 0x51, 0x48, 0xCE, 0xCF, 0xCD, 0x4D, 0xCD, 0x2B, 0xD1, 0x51, 0x48, 0xAD, 0x28,
        0x29, 0x4A, 0xD4, 0x51, 0x70, 0x0E, 0x72, 0xD6, 0x35, 0x34, 0x03, 0x00, 0x60, 0x8B, 0xAC, 0xB2,
        0x2B, 0x00, 0x00, 0x00,
    ]

    static let overlapping: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xAB, 0xAA, 0x1A, 0x05, 0xC4, 0x82,
        0x8A, 0xCA, 0x51, 0x44, 0x2C, 0x02, 0x00, 0x39, 0x81, 0x17, 0x0F, 0x58, 0x02, 0x00, 0x00,
    ]

    static let singleDistanceCode: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x0D, 0xC0, 0x81, 0x00, 0x00, 0x00,
        0x00, 0x80, 0x20, 0xD6, 0xFC, 0x25, 0x3E, 0x0B, 0x45, 0xE5, 0x98, 0xAD, 0x04, 0x00, 0x00, 0x00,
    ]

    static let distanceTooFar: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x4B, 0x04, 0x12, 0x00, 0x43, 0xBE,
        0xB7, 0xE8, 0x01, 0x00, 0x00, 0x00,
    ]

    static let overSubscribed: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x05, 0x00, 0x92, 0x04, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    static let gzippedIDX: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xE0, 0x60, 0x66, 0x60,
        0x60, 0x60, 0x02, 0x62, 0x08, 0xCD, 0xC8, 0xC4, 0xCC, 0xC2, 0xCA, 0xC6, 0xCE, 0xC1, 0xC9, 0xC5,
        0x0D, 0x00, 0xBE, 0x0C, 0x13, 0xDE, 0x1C, 0x00, 0x00, 0x00,
    ]
}
