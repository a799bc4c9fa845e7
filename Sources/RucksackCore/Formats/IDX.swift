import Foundation

/// The element types of the IDX format, with their type-byte codes as raw values.
public enum IDXDataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// `0x08`: unsigned byte (the MNIST images and labels).
    case uint8 = 0x08
    /// `0x09`: signed byte.
    case int8 = 0x09
    /// `0x0B`: big-endian 16-bit integer.
    case int16 = 0x0B
    /// `0x0C`: big-endian 32-bit integer.
    case int32 = 0x0C
    /// `0x0D`: big-endian 32-bit float.
    case float32 = 0x0D
    /// `0x0E`: big-endian 64-bit float.
    case float64 = 0x0E

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16: 2
        case .int32, .float32: 4
        case .float64: 8
        }
    }

    /// The code and name, e.g. `0x08 (unsigned byte)`.
    public var description: String {
        let name = switch self {
        case .uint8: "unsigned byte"
        case .int8: "signed byte"
        case .int16: "short"
        case .int32: "int"
        case .float32: "float"
        case .float64: "double"
        }
        return "0x0\(String(rawValue, radix: 16, uppercase: true)) (\(name))"
    }
}

/// One array read from an IDX file.
public struct IDXArray: Sendable, Equatable {
    /// The element type named by the file's type byte.
    public let dataType: IDXDataType
    /// The extent of each dimension, outermost first (e.g. `[60000, 28, 28]`).
    public let shape: [Int]
    /// The raw payload, row-major, with multi-byte elements big-endian as stored.
    public let bytes: [UInt8]

    /// The number of elements, the product of ``shape``.
    public var count: Int { shape.reduce(1, *) }

    /// The elements of an unsigned-byte (`0x08`) array, such as MNIST images and labels.
    /// - Throws: ``FormatError/idxTypeMismatch(operation:found:expected:)`` for other types.
    public func uint8Values() throws -> [UInt8] {
        guard dataType == .uint8 else {
            throw FormatError.idxTypeMismatch(operation: "IDXArray.uint8Values()", found: dataType, expected: .uint8)
        }
        return bytes
    }
}

/// Reads the IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/).
///
/// Layout: two zero bytes, a type byte (see ``IDXDataType``), the number of dimensions,
/// one big-endian `UInt32` extent per dimension, then exactly the row-major payload.
public enum IDX {
    /// Reads the IDX file at `url`, decompressing it first if it is gzip (`.gz`) data.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)`` or a decoding error wrapped
    ///   in ``FormatError/inFile(path:error:)``; after decompression, offsets count in the
    ///   decompressed IDX data.
    public static func read(from url: URL) throws -> IDXArray {
        let bytes = try FileBytes.read(from: url)
        do {
            return try decode(Gzip.isGzip(bytes) ? Gzip.decompress(bytes) : bytes)
        } catch let error as FormatError {
            throw FormatError.inFile(path: url.path, error: error)
        }
    }

    /// Decodes uncompressed IDX bytes.
    /// - Throws: ``FormatError``; offsets count from the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws -> IDXArray {
        guard bytes.prefix(2).allSatisfy({ $0 == 0 }) else {
            throw FormatError.badMagic(format: .idx, found: Array(bytes.prefix(8)))
        }
        guard bytes.count >= 4 else {
            throw FormatError.truncated(format: .idx, section: "header", offset: 0, needed: 4, available: bytes.count)
        }
        guard let dataType = IDXDataType(rawValue: bytes[2]) else {
            let hex = String(bytes[2], radix: 16)
            throw FormatError.unsupportedDType(
                format: .idx, offset: 2, dtype: "0x" + (hex.count == 1 ? "0" + hex : hex), tensor: nil)
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else {
            throw FormatError.invalidShape(format: .idx, offset: 3, tensor: nil, reason: "zero dimensions")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw FormatError.truncated(
                format: .idx, section: "dimension sizes", offset: 4, needed: UInt64(4 * rank),
                available: bytes.count - 4)
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in 0..<rank {
            let offset = 4 + 4 * dimension
            let extent = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                | Int(bytes[offset + 3])
            shape.append(extent)
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw FormatError.invalidShape(
                    format: .idx, offset: offset, tensor: nil, reason: "the shape \(shape)... has too many elements")
            }
            elements = product
        }
        let (needed, overflow) = elements.multipliedReportingOverflow(by: dataType.byteCount)
        guard !overflow else {
            throw FormatError.invalidShape(
                format: .idx, offset: 4, tensor: nil,
                reason: "\(elements) elements of \(dataType.byteCount) bytes do not fit in memory")
        }
        let available = bytes.count - headerSize
        guard available >= needed else {
            throw FormatError.truncated(
                format: .idx, section: "array data of shape \(shape)", offset: headerSize, needed: UInt64(needed),
                available: available)
        }
        guard available == needed else {
            throw FormatError.trailingBytes(format: .idx, offset: headerSize + needed, count: available - needed)
        }
        return IDXArray(dataType: dataType, shape: shape, bytes: Array(bytes[headerSize...]))
    }
}
