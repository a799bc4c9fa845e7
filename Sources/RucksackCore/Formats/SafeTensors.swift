import Foundation

/// Reads and writes the safetensors format.
///
/// Layout: an 8-byte little-endian `UInt64` header size `N`; `N` bytes of UTF-8 JSON
/// mapping each tensor name to `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`
/// plus an optional `"__metadata__"` object of strings; then the data buffer, which the
/// offsets index relative to its start.
///
/// The reader is as strict as the reference implementation: the header must be an object
/// starting with `{` (trailing whitespace padding is allowed), names must be unique, and the
/// tensors must tile the buffer exactly — no overlaps, no gaps, no unused bytes at the end.
/// Unknown keys inside a tensor entry are ignored, as the reference reader does.
public enum SafeTensors {
    /// Reads and decodes the file at `url`.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)`` or a decoding error wrapped in
    ///   ``FormatError/inFile(path:error:)``.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        let bytes = try FileBytes.read(from: url)
        do {
            return try decode(bytes)
        } catch let error as FormatError {
            throw FormatError.inFile(path: url.path, error: error)
        }
    }

    /// Decodes safetensors bytes held in `Data`.
    /// - Throws: ``FormatError``; offsets count from the start of `data`.
    public static func decode(_ data: Data) throws -> SafeTensorsFile {
        try decode([UInt8](data))
    }

    /// Decodes safetensors bytes.
    /// - Throws: ``FormatError``; offsets count from the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        guard bytes.count >= 8 else {
            throw FormatError.truncated(
                format: .safetensors, section: "header size", offset: 0, needed: 8, available: bytes.count)
        }
        // Compare against what is there before using the size, so a corrupt size never allocates.
        let headerSize = LittleEndianBytes.readUnsigned(bytes, at: 0, width: 8)
        guard headerSize <= UInt64(bytes.count - 8) else {
            throw FormatError.truncated(
                format: .safetensors, section: "JSON header", offset: 8, needed: headerSize,
                available: bytes.count - 8)
        }
        let bufferStart = 8 + Int(headerSize)
        let header = bytes[8..<bufferStart]
        guard header.first == UInt8(ascii: "{") else {
            throw FormatError.invalidHeader(
                format: .safetensors, offset: 8, reason: "the header must be a JSON object starting with '{'")
        }
        let document: JSONValue
        do { document = try JSONParser.parse(header, maximumDepth: maximumHeaderDepth, document: "the header") } catch {
            throw FormatError.invalidHeader(format: .safetensors, offset: error.offset, reason: error.reason)
        }
        guard case let .object(members) = document.kind else {
            throw FormatError.invalidHeader(format: .safetensors, offset: 8, reason: "the header is not a JSON object")
        }

        let bufferLength = bytes.count - bufferStart
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for member in members {
            guard seen.insert(member.key).inserted else {
                throw FormatError.duplicateName(format: .safetensors, offset: member.keyOffset, name: member.key)
            }
            if member.key == SafeTensorsFile.metadataKey {
                metadata = try parseMetadata(member.value)
            } else {
                entries.append(try parseEntry(named: member.key, member.value, bufferLength: bufferLength))
            }
        }
        try checkTiling(entries, bufferStart: bufferStart, bufferLength: bufferLength)

        var file = SafeTensorsFile(metadata: metadata)
        for entry in entries {
            let data = Array(bytes[(bufferStart + entry.begin)..<(bufferStart + entry.end)])
            try file.insert(ArrayData(unchecked: entry.dtype, shape: entry.shape, bytes: data), named: entry.name)
        }
        return file
    }

    /// Encodes a file the way the reference Python writer does: tensors laid out by
    /// decreasing dtype width, then by name (so every tensor is naturally aligned), header
    /// entries in the same order after `__metadata__`, metadata keys sorted, and the header
    /// padded with spaces to a multiple of 8 bytes.
    public static func encode(_ file: SafeTensorsFile) -> [UInt8] {
        let order = file.names.sorted { lhs, rhs in
            let left = layoutRank(file.tensors[lhs]?.dtype)
            let right = layoutRank(file.tensors[rhs]?.dtype)
            return left != right ? left > right : SafeTensorsFile.byteOrder(lhs, rhs)
        }
        var parts: [String] = []
        if !file.metadata.isEmpty {
            let pairs = file.metadata.keys.sorted(by: SafeTensorsFile.byteOrder).map { key in
                JSONValue.quoted(key) + ":" + JSONValue.quoted(file.metadata[key] ?? "")
            }
            parts.append(JSONValue.quoted(SafeTensorsFile.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        var arrays: [ArrayData] = []
        for name in order {
            guard let array = file.tensors[name] else { continue }
            let shape = array.shape.map(String.init).joined(separator: ",")
            parts.append(
                JSONValue.quoted(name) + ":{\"dtype\":\"\(array.dtype.rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(offset + array.bytes.count)]}")
            offset += array.bytes.count
            arrays.append(array)
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        LittleEndianBytes.appendUnsigned(UInt64(header.count), width: 8, to: &bytes)
        bytes.append(contentsOf: header)
        for array in arrays { bytes.append(contentsOf: array.bytes) }
        return bytes
    }

    /// Encodes `file` and writes it atomically to `url` (see ``AtomicFile``).
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    public static func write(_ file: SafeTensorsFile, to url: URL) throws {
        try AtomicFile.write(encode(file), to: url)
    }

    // MARK: - Header entries

    private struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
        /// Offset of the entry's `data_offsets` value, for error messages.
        var offsetsOffset: Int
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        if case .null = value.kind { return [:] }
        guard case let .object(members) = value.kind else {
            throw FormatError.invalidHeader(
                format: .safetensors, offset: value.offset,
                reason: "__metadata__ must be an object of strings, found \(value.typeName)")
        }
        var metadata: [String: String] = [:]
        for member in members {
            guard case let .string(text) = member.value.kind else {
                throw FormatError.invalidHeader(
                    format: .safetensors, offset: member.value.offset,
                    reason: "__metadata__ value for key \"\(member.key)\" must be a string, found \(member.value.typeName)")
            }
            guard metadata.updateValue(text, forKey: member.key) == nil else {
                throw FormatError.duplicateName(format: .safetensors, offset: member.keyOffset, name: member.key)
            }
        }
        return metadata
    }

    private static func parseEntry(named name: String, _ value: JSONValue, bufferLength: Int) throws -> Entry {
        guard case let .object(fields) = value.kind else {
            throw FormatError.invalidHeader(
                format: .safetensors, offset: value.offset,
                reason: "entry \"\(name)\" must be an object with dtype, shape and data_offsets, found \(value.typeName)")
        }
        var found: [String: JSONValue] = [:]
        for field in fields where ["dtype", "shape", "data_offsets"].contains(field.key) {
            guard found.updateValue(field.value, forKey: field.key) == nil else {
                throw FormatError.invalidHeader(
                    format: .safetensors, offset: field.keyOffset,
                    reason: "entry \"\(name)\" has a second \"\(field.key)\" key")
            }
        }
        guard let dtypeValue = found["dtype"], let shapeValue = found["shape"],
              let offsetsValue = found["data_offsets"]
        else {
            let missing = ["dtype", "shape", "data_offsets"].filter { found[$0] == nil }.joined(separator: ", ")
            throw FormatError.invalidHeader(
                format: .safetensors, offset: value.offset, reason: "entry \"\(name)\" lacks \(missing)")
        }

        guard case let .string(dtypeName) = dtypeValue.kind else {
            throw FormatError.invalidHeader(
                format: .safetensors, offset: dtypeValue.offset,
                reason: "dtype of \"\(name)\" must be a string, found \(dtypeValue.typeName)")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw FormatError.unsupportedDType(
                format: .safetensors, offset: dtypeValue.offset, dtype: dtypeName, tensor: name)
        }

        guard case let .array(extents) = shapeValue.kind else {
            throw FormatError.invalidShape(
                format: .safetensors, offset: shapeValue.offset, tensor: name,
                reason: "expected an array of integers, found \(shapeValue.typeName)")
        }
        var shape: [Int] = []
        for extent in extents {
            guard let value = extent.nonNegativeInteger else {
                throw FormatError.invalidShape(
                    format: .safetensors, offset: extent.offset, tensor: name,
                    reason: "extents must be integers in 0...\(Int.max), found \(describe(extent))")
            }
            shape.append(value)
        }
        guard let count = ArrayData.elementCount(of: shape, elementSize: dtype.byteCount) else {
            throw FormatError.invalidShape(
                format: .safetensors, offset: shapeValue.offset, tensor: name,
                reason: "\(shape) has more elements than fit in memory")
        }

        guard case let .array(pair) = offsetsValue.kind, pair.count == 2 else {
            throw FormatError.invalidDataOffsets(
                offset: offsetsValue.offset, tensor: name, reason: "expected an array of two integers [begin, end]")
        }
        guard let begin = pair[0].nonNegativeInteger, let end = pair[1].nonNegativeInteger else {
            throw FormatError.invalidDataOffsets(
                offset: offsetsValue.offset, tensor: name,
                reason: "[\(describe(pair[0])), \(describe(pair[1]))] must be integers in 0...\(Int.max)")
        }
        guard begin <= end else {
            throw FormatError.invalidDataOffsets(
                offset: offsetsValue.offset, tensor: name, reason: "begin \(begin) is after end \(end)")
        }
        guard end <= bufferLength else {
            throw FormatError.invalidDataOffsets(
                offset: offsetsValue.offset, tensor: name,
                reason: "[\(begin), \(end)] reaches past the end of the \(bufferLength)-byte data buffer")
        }
        let needed = count * dtype.byteCount
        guard end - begin == needed else {
            throw FormatError.invalidDataOffsets(
                offset: offsetsValue.offset, tensor: name,
                reason: "[\(begin), \(end)] spans \(end - begin) bytes, but shape \(shape) of \(dtype) needs \(needed)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, offsetsOffset: offsetsValue.offset)
    }

    /// Checks that the tensors cover `0..<bufferLength` exactly once, as the reference reader requires.
    private static func checkTiling(_ entries: [Entry], bufferStart: Int, bufferLength: Int) throws {
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: String?
        for entry in sorted {
            if entry.begin < covered, let previous {
                throw FormatError.invalidDataOffsets(
                    offset: entry.offsetsOffset, tensor: entry.name,
                    reason: "[\(entry.begin), \(entry.end)] overlaps tensor \"\(previous)\", which ends at \(covered)")
            }
            if entry.begin > covered {
                throw FormatError.invalidDataOffsets(
                    offset: entry.offsetsOffset, tensor: entry.name,
                    reason: "bytes \(covered)..<\(entry.begin) of the data buffer belong to no tensor; "
                        + "safetensors requires the tensors to fill the buffer without gaps")
            }
            covered = entry.end
            previous = entry.name
        }
        if covered < bufferLength {
            throw FormatError.trailingBytes(
                format: .safetensors, offset: bufferStart + covered, count: bufferLength - covered)
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value.kind {
        case .number, .string: value.description
        default: value.typeName
        }
    }

    /// Deep nesting cannot occur in a valid header; the limit keeps recursion bounded.
    static let maximumHeaderDepth = 32

    /// Layout order of the reference writer: wider dtypes first, integers before floats of equal width.
    private static func layoutRank(_ dtype: DType?) -> Int {
        switch dtype {
        case .int64: 5
        case .float64: 4
        case .float32: 3
        case .int32: 2
        case .uint8: 1
        case .bool, nil: 0
        }
    }
}
