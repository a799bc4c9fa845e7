import Foundation
import Testing
@testable import RucksackCore

@Suite(".npy format")
struct NPYFormatTests {
    // MARK: Fixtures written by numpy.save

    @Test("reads every fixture written by NumPy", arguments: FormatFixtures.npyFiles)
    func readsFixture(fixture: FormatFixtures.NPYFile) throws {
        let array = try NPY.read(from: FormatFixtures.url(fixture.name))
        #expect(array == (try FormatFixtures.values(fixture.dtype, shape: fixture.shape)))
    }

    @Test("encodes byte-identically to numpy.save",
          arguments: FormatFixtures.npyFiles.filter { $0.variant == .cOrder })
    func encodeMatchesNumPy(fixture: FormatFixtures.NPYFile) throws {
        let encoded = NPY.encode(try FormatFixtures.values(fixture.dtype, shape: fixture.shape))
        #expect(encoded == (try FormatFixtures.bytes(fixture.name)))
    }

    @Test("Fortran order is converted to row-major")
    func fortranOrder() throws {
        let tensor = try NPY.read(from: FormatFixtures.url("f64_fortran_3x4.npy")).tensor(as: Double.self)
        #expect(tensor.shape == [3, 4])
        // Row-major element (1, 2) is flat index 6.
        #expect(tensor.scalars[6] == Double(6 - 2) / 3)
    }

    // MARK: Round trips

    @Test("every dtype round-trips, with the data aligned to 64 bytes", arguments: DType.allCases)
    func roundTripDType(dtype: DType) throws {
        for shape in [[], [0], [7], [2, 3], [1, 2, 1, 3], [123_456_789_012, 0]] {
            let array = try FormatFixtures.values(dtype, shape: shape)
            let encoded = NPY.encode(array)
            #expect((encoded.count - array.bytes.count) % 64 == 0, "shape \(shape)")
            #expect(try NPY.decode(encoded) == array)
            #expect(try NPY.decode(Data(encoded)) == array)
        }
    }

    @Test("a header longer than 65535 bytes is written as version 2.0")
    func version2Header() throws {
        let array = try ArrayData([UInt8(7)], shape: Array(repeating: 1, count: 25_000))
        let encoded = NPY.encode(array)
        #expect(encoded[6] == 2 && encoded[7] == 0)
        #expect((encoded.count - 1) % 64 == 0)
        #expect(try NPY.decode(encoded) == array)
    }

    // MARK: Malformed input

    /// A `.npy` file with the given header text (padded with spaces and a newline, unpadded if
    /// `raw`), version and data.
    static func file(header: String, version: UInt8 = 1, data: [UInt8] = [], raw: Bool = false) -> [UInt8] {
        let text = raw ? Array(header.utf8) : Array(header.utf8) + [0x20, 0x0A]
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        LittleEndianBytes.appendUnsigned(UInt64(text.count), width: version == 1 ? 2 : 4, to: &bytes)
        return bytes + text + data
    }

    static func decodingError(_ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try NPY.decode(bytes)
            return nil
        } catch {
            return error as? FormatError
        }
    }

    @Test("a file without the magic string is rejected")
    func badMagic() {
        let error = Self.decodingError(Array("PK\u{03}\u{04}hello world".utf8))
        #expect(error == .badMagic(format: .npy, found: [0x50, 0x4B, 3, 4, 0x68, 0x65, 0x6C, 0x6C]))
        #expect(error?.description.contains("50 4b 03 04") == true)
        #expect(Self.decodingError([]) == .truncated(
            format: .npy, section: "magic string and version", offset: 0, needed: 8, available: 0))
        #expect(Self.decodingError([0x93, 0x4E]) == .truncated(
            format: .npy, section: "magic string and version", offset: 0, needed: 8, available: 2))
    }

    @Test("unknown versions are rejected")
    func unsupportedVersion() {
        let bytes = Self.file(header: "{}", version: 4)
        #expect(Self.decodingError(bytes) == .unsupportedVersion(format: .npy, offset: 6, version: "4.0"))
    }

    @Test("a header length beyond the file throws before allocating", arguments: [UInt8(1), 2])
    func hugeHeaderLength(version: UInt8) {
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        bytes += version == 1 ? [0xFF, 0xFF] : [0xFF, 0xFF, 0xFF, 0xFF]
        bytes += Array("{'descr'".utf8)
        let start = version == 1 ? 10 : 12
        #expect(Self.decodingError(bytes) == .truncated(
            format: .npy, section: "header", offset: start, needed: version == 1 ? 65535 : 4_294_967_295, available: 8))
    }

    @Test("unsupported type strings are rejected", arguments: ["<f2", "<c16", "<u4", "|S5", "O", "float32", ">b2"])
    func unsupportedDescr(descr: String) {
        let bytes = Self.file(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", data: [0])
        #expect(Self.decodingError(bytes) == .unsupportedDType(format: .npy, offset: 20, dtype: descr, tensor: nil))
    }

    @Test("alternative spellings of supported types are accepted")
    func descrSpellings() throws {
        for (descr, dtype) in [("f8", DType.float64), ("=i4", .int32), ("<u1", .uint8), ("|b1", .bool), (">u1", .uint8)] {
            let size = dtype.byteCount
            let bytes = Self.file(
                header: "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"\(descr)\"}",
                data: [UInt8](repeating: 1, count: 2 * size))
            #expect(try NPY.decode(bytes).dtype == dtype, "\(descr)")
        }
    }

    @Test("malformed header dictionaries name the offset", arguments: [
        ("{'descr': '<f4', 'fortran_order': False}", 10, "lacks shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 66, "unexpected key 'extra'"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 27, "appears twice"),
        ("{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,)}", 44, "True or False"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", 66, "after the header dictionary"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 26, "expected ',' or '}'"),
        ("{'descr': '<f4\\x', 'fortran_order': False, 'shape': (1,)}", 24, "escapes"),
        ("['descr']", 10, "expected '{'"),
        ("{'descr': '<f4\n", 24, "control characters"),
    ] as [(String, Int, String)])
    func headerErrors(header: String, offset: Int, words: String) throws {
        let error = try #require(Self.decodingError(Self.file(header: header, data: [0, 0, 0, 0])))
        guard case let .invalidHeader(.npy, actualOffset, reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(actualOffset == offset, "\(error)")
        #expect(reason.contains(words), "\(error)")
    }

    @Test("an unterminated header string is reported where it starts")
    func unterminatedString() {
        let bytes = Self.file(header: "{'descr': '<f4", raw: true)
        #expect(Self.decodingError(bytes) == .invalidHeader(format: .npy, offset: 20, reason: "unterminated string"))
    }

    @Test("bad shapes are rejected", arguments: [
        ("(1)", "trailing comma"),
        ("(-1,)", "negative extent"),
        ("(99999999999999999999,)", "does not fit"),
        ("(4611686018427387904, 4)", "more elements than fit"),
        ("[1]", "expected a tuple"),
        ("(1, x)", "expected an integer"),
    ])
    func badShapes(shape: String, words: String) throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let error = try #require(Self.decodingError(Self.file(header: header, data: [0, 0, 0, 0])))
        guard case let .invalidShape(.npy, _, nil, reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reason.contains(words), "\(error)")
    }

    @Test("missing and extra data are rejected")
    func dataSize() {
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"
        let dataStart = Self.file(header: header).count
        #expect(Self.decodingError(Self.file(header: header, data: [UInt8](repeating: 0, count: 23))) == .truncated(
            format: .npy, section: "array data (shape [2, 3], <i4)", offset: dataStart, needed: 24, available: 23))
        #expect(Self.decodingError(Self.file(header: header, data: [UInt8](repeating: 0, count: 25))) == .trailingBytes(
            format: .npy, offset: dataStart + 24, count: 1))
        // Python 2 era `L` suffixes are accepted.
        let legacy = "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }"
        #expect(Self.decodingError(Self.file(header: legacy, data: [UInt8](repeating: 0, count: 24))) == nil)
    }
}
