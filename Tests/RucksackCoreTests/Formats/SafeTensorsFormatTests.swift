import Foundation
import Testing
@testable import RucksackCore

@Suite("safetensors format")
struct SafeTensorsFormatTests {
    // MARK: Fixtures written by the Python reference

    @Test("reads every fixture written by Python's safetensors", arguments: FormatFixtures.safetensorsFiles)
    func readsFixture(spec: FormatFixtures.SafeTensorsSpec) throws {
        let file = try SafeTensors.read(from: FormatFixtures.url(spec.name))
        let expected = try FormatFixtures.file(spec)
        #expect(Set(file.names) == Set(spec.tensors.map(\.name)))
        for tensor in spec.tensors {
            let array = try #require(file[tensor.name])
            #expect(array == expected[tensor.name], "tensor \(tensor.name)")
        }
        #expect(file.metadata == spec.metadata)
        #expect(file == expected)
    }

    @Test("encodes byte-identically to Python's safetensors writer",
          arguments: FormatFixtures.safetensorsFiles.filter(\.byteExact))
    func encodeMatchesPython(spec: FormatFixtures.SafeTensorsSpec) throws {
        let encoded = SafeTensors.encode(try FormatFixtures.file(spec))
        #expect(encoded == (try FormatFixtures.bytes(spec.name)))
    }

    @Test("typed accessors see the formula values")
    func typedAccessors() throws {
        let file = try SafeTensors.read(from: FormatFixtures.url("all_dtypes.safetensors"))
        let weights = try #require(file["weight_f64"]).tensor(as: Double.self)
        #expect(weights.shape == [3, 2])
        #expect(weights.scalars == (0..<6).map { Double($0 - 2) / 3 })
        #expect(try #require(file["index_i64"]).int64Values() == [-6_000_000_038, -3_000_000_019, 0, 3_000_000_019])
        #expect(try #require(file["mask_bool"]).boolValues() == [true, false, false, true, false, false])
        #expect(try #require(file["scalar_f32"]).tensor(as: Float.self).scalars == [Float(-2) / 3])
        #expect(try #require(file["empty_f64"]).tensor(as: Double.self).shape == [0, 3])
    }

    @Test("decoding keeps the header's order of names")
    func keepsHeaderOrder() throws {
        let bytes = Self.file(
            header: #"{"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
            buffer: [7, 9])
        let file = try SafeTensors.decode(bytes)
        #expect(file.names == ["z", "a"])
        #expect(try file["a"]?.uint8Values() == [9])
    }

    // MARK: Round trips

    @Test("every dtype round-trips in one file, with odd names and metadata")
    func roundTripAllDtypes() throws {
        var file = SafeTensorsFile(metadata: ["quote\"back\\slash": "line\nbreak\t\u{01}", "unicode": "größe ✓ 🎒"])
        for (index, dtype) in DType.allCases.enumerated() {
            try file.insert(FormatFixtures.values(dtype, shape: [index + 1, 2]), named: "t/\(dtype) \(index) ü")
        }
        let encoded = SafeTensors.encode(file)
        let headerSize = Int(LittleEndianBytes.readUnsigned(encoded, at: 0, width: 8))
        #expect(headerSize % 8 == 0, "the header is padded to 8 bytes")
        #expect(try SafeTensors.decode(encoded) == file)
        #expect(try SafeTensors.decode(Data(encoded)) == file)
    }

    @Test("an empty file round-trips")
    func emptyFile() throws {
        let encoded = SafeTensors.encode(SafeTensorsFile())
        #expect(encoded == [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        #expect(try SafeTensors.decode(encoded) == SafeTensorsFile())
    }

    @Test("the metadata key cannot name a tensor")
    func reservedName() throws {
        var file = SafeTensorsFile()
        #expect(throws: FormatError.invalidTensorName(
            name: "__metadata__", reason: "the key is reserved for the file's metadata")) {
            try file.insert(ArrayData([1] as [UInt8], shape: [1]), named: "__metadata__")
        }
        try file.insert(ArrayData([1] as [UInt8], shape: [1]), named: "a")
        try file.insert(ArrayData([2, 3] as [UInt8], shape: [2]), named: "a")
        #expect(file.names == ["a"])
        #expect(file.remove(named: "a") != nil)
        #expect(file.names.isEmpty)
    }

    // MARK: Malformed input

    /// A safetensors file with the given header text and data buffer.
    static func file(header: String, buffer: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = []
        LittleEndianBytes.appendUnsigned(UInt64(header.utf8.count), width: 8, to: &bytes)
        return bytes + Array(header.utf8) + buffer
    }

    /// The error decoding `bytes` throws.
    static func decodingError(_ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try SafeTensors.decode(bytes)
            return nil
        } catch {
            return error as? FormatError
        }
    }

    @Test("an input shorter than the size field is truncated")
    func tooShort() {
        #expect(Self.decodingError([1, 2, 3]) == .truncated(
            format: .safetensors, section: "header size", offset: 0, needed: 8, available: 3))
    }

    @Test("a huge header size throws before allocating", arguments: [UInt64(1) << 60, UInt64.max, 100])
    func hugeHeaderSize(size: UInt64) {
        var bytes: [UInt8] = []
        LittleEndianBytes.appendUnsigned(size, width: 8, to: &bytes)
        bytes += Array("{}".utf8)
        let error = Self.decodingError(bytes)
        #expect(error == .truncated(format: .safetensors, section: "JSON header", offset: 8, needed: size, available: 2))
        #expect(error?.description.contains("at byte offset 8") == true)
    }

    @Test("header problems name the byte offset", arguments: [
        // (header, expected offset, words the message must contain)
        (#"{"a":"#, 13, "expected a value"),
        (#"[]"#, 8, "starting with '{'"),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#, 63, "after the JSON value"),
        (#"{"a":{"dtype":"F32","shape":[1]}}"#, 13, "lacks data_offsets"),
        (#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 28, "second \"dtype\""),
        (#"{"a":[1]}"#, 13, "must be an object"),
        (#"{"__metadata__":{"k":1}}"#, 29, "must be a string"),
        (#"{"__metadata__":[]}"#, 24, "object of strings"),
        (#"{"a":"\x"}"#, 14, "invalid escape"),
        (#"{"a":"\ud800"}"#, 14, "surrogate"),
        (#"{"a":01}"#, 13, "leading zeros"),
        ("{\"a\":\"\u{01}\"}", 14, "must be escaped"),
    ] as [(String, Int, String)])
    func headerErrors(header: String, offset: Int, words: String) throws {
        let error = try #require(Self.decodingError(Self.file(header: header, buffer: [0, 0, 0, 0])))
        guard case let .invalidHeader(.safetensors, actualOffset, reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(actualOffset == offset, "\(error)")
        #expect(reason.contains(words), "\(error)")
        #expect(error.description.contains("byte offset \(offset)"))
    }

    @Test("invalid UTF-8 in the header is reported at the bad byte")
    func invalidUTF8() {
        var bytes = Self.file(header: #"{"ab":1}"#)
        bytes[11] = 0xFF  // the "b"
        #expect(Self.decodingError(bytes) == .invalidHeader(
            format: .safetensors, offset: 11, reason: "the header is not valid UTF-8"))
    }

    @Test("deeply nested JSON is rejected without exhausting the stack")
    func deepNesting() throws {
        let header = #"{"a":"# + String(repeating: "[", count: 100_000) + "}"
        let error = try #require(Self.decodingError(Self.file(header: header)))
        #expect(error.description.contains("nested deeper"))
    }

    @Test("an unsupported dtype names the tensor and the dtype")
    func unknownDType() {
        let bytes = Self.file(header: #"{"half":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, buffer: [0, 0, 0, 0])
        let error = Self.decodingError(bytes)
        #expect(error == .unsupportedDType(format: .safetensors, offset: 25, dtype: "F16", tensor: "half"))
        #expect(error?.description.contains("\"F16\" of tensor \"half\"") == true)
    }

    @Test("a repeated tensor name is rejected")
    func duplicateName() {
        let entry = #"{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#
        let bytes = Self.file(header: #"{"a":"# + entry + #","a":"# + entry + "}", buffer: [1])
        #expect(Self.decodingError(bytes) == .duplicateName(format: .safetensors, offset: 61, name: "a"))
    }

    @Test("bad shapes are rejected", arguments: [
        ("[-1]", "extents must be integers"),
        ("[2.0]", "found 2.0"),
        ("[1e3]", "found 1e3"),
        ("[\"2\"]", "found \"2\""),
        ("[99999999999999999999]", "found 99999999999999999999"),
        ("[4294967296,4294967296]", "more elements than fit"),
        ("[4611686018427387904]", "more elements than fit"),  // 2^62 elements of 4 bytes
        ("7", "expected an array"),
    ])
    func badShapes(shape: String, words: String) throws {
        let header = #"{"a":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,4]}}"#
        let error = try #require(Self.decodingError(Self.file(header: header, buffer: [0, 0, 0, 0])))
        guard case let .invalidShape(.safetensors, _, "a", reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reason.contains(words), "\(error)")
    }

    @Test("bad data offsets are rejected", arguments: [
        ("[0,8]", [UInt8](repeating: 0, count: 4), "reaches past the end of the 4-byte data buffer"),
        ("[0,18446744073709551616]", [UInt8](repeating: 0, count: 4), "must be integers"),
        ("[4,0]", [UInt8](repeating: 0, count: 4), "begin 4 is after end 0"),
        ("[0,3]", [UInt8](repeating: 0, count: 4), "spans 3 bytes, but shape [1] of F32 needs 4"),
        ("[0,4,8]", [UInt8](repeating: 0, count: 4), "two integers"),
        ("[0.0,4]", [UInt8](repeating: 0, count: 4), "must be integers"),
        ("[4,8]", [UInt8](repeating: 0, count: 8), "belong to no tensor"),
    ] as [(String, [UInt8], String)])
    func badOffsets(offsets: String, buffer: [UInt8], words: String) throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":"# + offsets + "}}"
        let error = try #require(Self.decodingError(Self.file(header: header, buffer: buffer)))
        guard case let .invalidDataOffsets(offset, "a", reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(offset == 55, "\(error)")  // the data_offsets value
        #expect(reason.contains(words), "\(error)")
    }

    @Test("overlapping tensors are rejected")
    func overlap() throws {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#
        let error = try #require(Self.decodingError(Self.file(header: header, buffer: [1, 2, 3])))
        guard case let .invalidDataOffsets(_, "b", reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reason.contains("overlaps tensor \"a\""))
    }

    @Test("unused bytes after the last tensor are rejected")
    func trailingBytes() {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        let bytes = Self.file(header: header, buffer: [1, 2, 3, 4])
        #expect(Self.decodingError(bytes) == .trailingBytes(format: .safetensors, offset: 8 + header.utf8.count + 2, count: 2))
    }

    @Test("reading a corrupt file names its path")
    func errorNamesPath() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.safetensors")
        try AtomicFile.write([1, 2, 3], to: url)
        do {
            _ = try SafeTensors.read(from: url)
            Issue.record("expected an error")
        } catch let error as FormatError {
            guard case let .inFile(path, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == url.path)
            #expect(error.underlying == .truncated(
                format: .safetensors, section: "header size", offset: 0, needed: 8, available: 3))
            #expect(error.description.hasPrefix(url.path + ": truncated safetensors file"))
        }
    }
}
