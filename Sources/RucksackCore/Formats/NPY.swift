import Foundation

/// Reads and writes NumPy's `.npy` format (one array per file).
///
/// Layout: the magic string `\x93NUMPY`, a major and a minor version byte, the header
/// length (`UInt16` for version 1.0, `UInt32` for 2.0 and 3.0, little-endian), the header
/// (a Python dictionary literal padded with spaces and ending in a newline), then the data.
///
/// The reader accepts versions 1.0, 2.0 and 3.0, the type strings listed at
/// ``FormatError/unsupportedDType(format:offset:dtype:tensor:)`` in either byte order,
/// and Fortran-ordered data, which it converts to row-major little-endian. Unlike NumPy
/// it rejects bytes after the array data, which indicate a corrupt or concatenated file.
public enum NPY {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// NumPy aligns the start of the data to this many bytes.
    private static let alignment = 64

    /// Reads and decodes the file at `url`.
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)`` or a decoding error wrapped in
    ///   ``FormatError/inFile(path:error:)``.
    public static func read(from url: URL) throws -> ArrayData {
        let bytes = try FileBytes.read(from: url)
        do {
            return try decode(bytes)
        } catch let error as FormatError {
            throw FormatError.inFile(path: url.path, error: error)
        }
    }

    /// Decodes `.npy` bytes held in `Data`.
    /// - Throws: ``FormatError``; offsets count from the start of `data`.
    public static func decode(_ data: Data) throws -> ArrayData {
        try decode([UInt8](data))
    }

    /// Decodes `.npy` bytes.
    /// - Throws: ``FormatError``; offsets count from the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws -> ArrayData {
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(bytes.count)) else {
            throw FormatError.badMagic(format: .npy, found: Array(bytes.prefix(8)))
        }
        guard bytes.count >= 8 else {
            throw FormatError.truncated(
                format: .npy, section: "magic string and version", offset: 0, needed: 8, available: bytes.count)
        }
        let lengthWidth: Int
        switch (bytes[6], bytes[7]) {
        case (1, 0): lengthWidth = 2
        case (2, 0), (3, 0): lengthWidth = 4
        default:
            throw FormatError.unsupportedVersion(format: .npy, offset: 6, version: "\(bytes[6]).\(bytes[7])")
        }
        guard bytes.count >= 8 + lengthWidth else {
            throw FormatError.truncated(
                format: .npy, section: "header length", offset: 8, needed: UInt64(lengthWidth),
                available: bytes.count - 8)
        }
        let headerStart = 8 + lengthWidth
        let headerLength = LittleEndianBytes.readUnsigned(bytes, at: 8, width: lengthWidth)
        guard headerLength <= UInt64(bytes.count - headerStart) else {
            throw FormatError.truncated(
                format: .npy, section: "header", offset: headerStart, needed: headerLength,
                available: bytes.count - headerStart)
        }
        let dataStart = headerStart + Int(headerLength)
        let header = try NPYHeaderParser.parse(bytes[headerStart..<dataStart])

        guard let kind = NPYHeader.dtype(forDescr: header.descr) else {
            throw FormatError.unsupportedDType(format: .npy, offset: header.descrOffset, dtype: header.descr, tensor: nil)
        }
        let dtype = kind.dtype
        guard let count = ArrayData.elementCount(of: header.shape, elementSize: dtype.byteCount) else {
            throw FormatError.invalidShape(
                format: .npy, offset: header.shapeOffset, tensor: nil,
                reason: "\(header.shape) has more elements than fit in memory")
        }
        let needed = count * dtype.byteCount
        let available = bytes.count - dataStart
        guard needed <= available else {
            throw FormatError.truncated(
                format: .npy, section: "array data (shape \(header.shape), \(header.descr))", offset: dataStart,
                needed: UInt64(needed), available: available)
        }
        guard needed == available else {
            throw FormatError.trailingBytes(format: .npy, offset: dataStart + needed, count: available - needed)
        }

        var data = Array(bytes[dataStart...])
        if kind.bigEndian { LittleEndianBytes.swapBytes(&data, elementSize: dtype.byteCount) }
        if header.fortranOrder, header.shape.count > 1 {
            data = rowMajor(fromColumnMajor: data, shape: header.shape, elementSize: dtype.byteCount)
        }
        return ArrayData(unchecked: dtype, shape: header.shape, bytes: data)
    }

    /// Encodes `array` exactly as `numpy.save` does: version 1.0 (2.0 when the header needs
    /// more than 65535 bytes), C order, and the data starting at a multiple of 64 bytes.
    public static func encode(_ array: ArrayData) -> [UInt8] {
        let text = Array(NPYHeader.literal(descr: NPYHeader.descr(for: array.dtype), shape: array.shape).utf8)
        var lengthWidth = 2
        var padding = paddingCount(headerCount: text.count, lengthWidth: lengthWidth)
        if text.count + padding + 1 > Int(UInt16.max) {
            lengthWidth = 4
            padding = paddingCount(headerCount: text.count, lengthWidth: lengthWidth)
        }
        var bytes = magic
        bytes.reserveCapacity(8 + lengthWidth + text.count + padding + 1 + array.bytes.count)
        bytes += lengthWidth == 2 ? [1, 0] : [2, 0]
        LittleEndianBytes.appendUnsigned(UInt64(text.count + padding + 1), width: lengthWidth, to: &bytes)
        bytes += text
        bytes += repeatElement(UInt8(ascii: " "), count: padding)
        bytes.append(UInt8(ascii: "\n"))
        bytes += array.bytes
        return bytes
    }

    /// Encodes `array` and writes it atomically to `url` (see ``AtomicFile``).
    /// - Throws: ``FormatError/fileSystem(path:operation:reason:)``.
    public static func write(_ array: ArrayData, to url: URL) throws {
        try AtomicFile.write(encode(array), to: url)
    }

    /// Spaces before the final newline so the data starts aligned; like NumPy, always at least one.
    private static func paddingCount(headerCount: Int, lengthWidth: Int) -> Int {
        alignment - (magic.count + 2 + lengthWidth + headerCount + 1) % alignment
    }

    /// Reorders column-major (Fortran) elements into row-major order.
    static func rowMajor(fromColumnMajor source: [UInt8], shape: [Int], elementSize: Int) -> [UInt8] {
        let count = source.count / elementSize
        guard count > 0 else { return source }
        // Column-major strides in elements: the first axis varies fastest.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var result = [UInt8](repeating: 0, count: source.count)
        var index = [Int](repeating: 0, count: shape.count)
        var sourceElement = 0
        source.withUnsafeBytes { input in
            result.withUnsafeMutableBytes { output in
                guard let from = input.baseAddress, let to = output.baseAddress else { return }
                for element in 0..<count {
                    (to + element * elementSize).copyMemory(from: from + sourceElement * elementSize, byteCount: elementSize)
                    // Advance the row-major multi-index, last axis fastest, tracking the column-major offset.
                    var axis = shape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        sourceElement += strides[axis]
                        if index[axis] < shape[axis] { break }
                        sourceElement -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }
}
