/// The file formats that Rucksack reads and writes arrays in.
public enum FileFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Hugging Face safetensors: a JSON header followed by one flat byte buffer.
    case safetensors
    /// NumPy's `.npy`: one array with a Python-literal header.
    case npy
    /// gzip (RFC 1952) wrapping DEFLATE (RFC 1951) data; read only, see ``Gzip``.
    case gzip
    /// The IDX format of the MNIST files: one big-endian array; read only, see ``IDX``.
    case idx

    /// The format's usual name.
    public var description: String {
        switch self {
        case .safetensors: "safetensors"
        case .npy: ".npy"
        case .gzip: "gzip"
        case .idx: "IDX"
        }
    }
}

/// Errors thrown while reading, writing or converting arrays in ``FileFormat``s.
///
/// Decoding errors carry the byte offset, counted from the start of the file, where the
/// problem was found, so that a user can inspect the file with a hex dump (`xxd -s OFFSET`).
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ends before a section that it announces is complete.
    ///
    /// `needed` is a `UInt64` because it may come straight from a corrupt size field.
    case truncated(format: FileFormat, section: String, offset: Int, needed: UInt64, available: Int)
    /// The input does not start with the format's signature; `found` holds its first bytes.
    case badMagic(format: FileFormat, found: [UInt8])
    /// Compressed data that cannot be decoded: an invalid block type or Huffman code, a
    /// back-reference before the start of the output, a checksum or size mismatch.
    /// `offset` is the byte of the compressed input where the problem was found.
    case corruptCompressedData(format: FileFormat, offset: Int, reason: String)
    /// An IDX array accessor asked for values of another element type than the file holds.
    case idxTypeMismatch(operation: String, found: IDXDataType, expected: IDXDataType)
    /// A format version that this reader does not know.
    case unsupportedVersion(format: FileFormat, offset: Int, version: String)
    /// A header that is not well-formed: bad JSON or Python-literal syntax, invalid UTF-8,
    /// a missing or ill-typed key.
    case invalidHeader(format: FileFormat, offset: Int, reason: String)
    /// An element type that Rucksack does not support. `tensor` names the safetensors entry.
    case unsupportedDType(format: FileFormat, offset: Int, dtype: String, tensor: String?)
    /// A shape with a negative or non-integer extent, or more elements than fit in memory.
    case invalidShape(format: FileFormat, offset: Int, tensor: String?, reason: String)
    /// Safetensors `data_offsets` that are reversed, out of the buffer, overlap another tensor,
    /// leave a gap, or do not match the shape and dtype.
    case invalidDataOffsets(offset: Int, tensor: String, reason: String)
    /// Two entries of a safetensors header with the same name.
    case duplicateName(format: FileFormat, offset: Int, name: String)
    /// Bytes after the last array that no header entry accounts for.
    case trailingBytes(format: FileFormat, offset: Int, count: Int)
    /// A tensor name that the format cannot store, such as `__metadata__` in safetensors.
    case invalidTensorName(name: String, reason: String)
    /// An ``ArrayData`` whose shape, dtype and byte or element count do not agree.
    case invalidArray(operation: String, dtype: DType, shape: [Int], reason: String)
    /// An accessor asked an ``ArrayData`` for values its dtype cannot provide.
    case dtypeMismatch(operation: String, dtype: DType, accepted: [DType])
    /// The operating system refused to open, read, write or rename a file.
    case fileSystem(path: String, operation: String, reason: String)
    /// A decoding error in the file at `path`.
    indirect case inFile(path: String, error: FormatError)

    /// The error without any ``inFile(path:error:)`` wrapping.
    public var underlying: FormatError {
        if case let .inFile(_, error) = self { return error.underlying }
        return self
    }

    /// A message that says what is wrong, where, and what was expected.
    public var description: String {
        switch self {
        case let .truncated(format, section, offset, needed, available):
            return "truncated \(format) file: expected \(needed) byte\(needed == 1 ? "" : "s") of \(section) at byte offset \(offset), "
                + "but only \(available) remain (the input is \(offset + available) bytes long)"
        case let .badMagic(format, found):
            let hex = found.map { byte in
                let digits = String(byte, radix: 16)
                return digits.count == 1 ? "0" + digits : digits
            }.joined(separator: " ")
            let expected = switch format {
            case .npy: "93 4e 55 4d 50 59 (\"\\x93NUMPY\")"
            case .safetensors: "an 8-byte header size"
            case .gzip: "1f 8b"
            case .idx: "00 00, a type byte and a dimension count"
            }
            return "not a \(format) file: it starts with bytes [\(hex)], expected \(expected)"
        case let .corruptCompressedData(format, offset, reason):
            return "corrupt \(format) data at byte offset \(offset): \(reason)"
        case let .idxTypeMismatch(operation, found, expected):
            return "\(operation): the IDX array holds \(found) elements, expected \(expected)"
        case let .unsupportedVersion(format, offset, version):
            return "unsupported \(format) format version \(version) at byte offset \(offset)"
                + (format == .npy ? " (supported: 1.0, 2.0, 3.0)" : "")
        case let .invalidHeader(format, offset, reason):
            return "invalid \(format) header at byte offset \(offset): \(reason)"
        case let .unsupportedDType(format, offset, dtype, tensor):
            let supported = switch format {
            case .npy: "<f4, <f8, <i8, <i4, |u1, |b1 (any byte order)"
            case .idx: IDXDataType.allCases.map(\.description).joined(separator: ", ")
            default: DType.allCases.map(\.rawValue).joined(separator: ", ")
            }
            return "unsupported dtype \"\(dtype)\"\(Self.naming(tensor)) in \(format) file at byte offset \(offset) "
                + "(supported: \(supported))"
        case let .invalidShape(format, offset, tensor, reason):
            return "invalid shape\(Self.naming(tensor)) in \(format) file at byte offset \(offset): \(reason)"
        case let .invalidDataOffsets(offset, tensor, reason):
            return "invalid data_offsets for tensor \"\(tensor)\" in safetensors file at byte offset \(offset): \(reason)"
        case let .duplicateName(format, offset, name):
            return "duplicate entry \"\(name)\" in \(format) header at byte offset \(offset)"
        case let .trailingBytes(format, offset, count):
            return "\(count) unexpected bytes after the array data of a \(format) file, starting at byte offset \(offset)"
        case let .invalidTensorName(name, reason):
            return "invalid tensor name \"\(name)\": \(reason)"
        case let .invalidArray(operation, dtype, shape, reason):
            return "\(operation): invalid \(dtype) array of shape \(shape): \(reason)"
        case let .dtypeMismatch(operation, dtype, accepted):
            let list = accepted.map(\.rawValue).joined(separator: ", ")
            return "\(operation): the array has dtype \(dtype), expected one of \(list)"
        case let .fileSystem(path, operation, reason):
            return "cannot \(operation) \(path): \(reason)"
        case let .inFile(path, error):
            return "\(path): \(error)"
        }
    }

    private static func naming(_ tensor: String?) -> String {
        tensor.map { " of tensor \"\($0)\"" } ?? ""
    }
}
