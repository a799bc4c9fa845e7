/// Conversions between arrays of fixed-size values and little-endian byte arrays.
///
/// Both file formats store little-endian data, the byte order of every platform Swift
/// ships on today; the conversions are therefore plain copies, with a byte swap compiled
/// in only for big-endian hosts.
enum LittleEndianBytes {
    /// The little-endian bytes of `values`, whose elements are `elementSize` bytes wide
    /// IEEE floats or two's-complement integers.
    static func encode<T>(_ values: [T], elementSize: Int) -> [UInt8] {
        var bytes = values.withUnsafeBytes { Array($0) }
        #if _endian(big)
        swapBytes(&bytes, elementSize: elementSize)
        #endif
        return bytes
    }

    /// Reinterprets little-endian `bytes` as `T` values of `elementSize` bytes each.
    ///
    /// The caller guarantees `MemoryLayout<T>.stride == elementSize`, that `T` is a trivial
    /// type for which every bit pattern is valid, and that `bytes.count` is a multiple of it.
    static func decode<T>(_ bytes: [UInt8], as type: T.Type, elementSize: Int) -> [T] {
        precondition(MemoryLayout<T>.stride == elementSize && bytes.count % elementSize == 0)
        #if _endian(big)
        var bytes = bytes
        swapBytes(&bytes, elementSize: elementSize)
        #endif
        let count = bytes.count / elementSize
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }

    /// Reverses the bytes inside every `elementSize`-byte element, converting between byte orders.
    static func swapBytes(_ bytes: inout [UInt8], elementSize: Int) {
        guard elementSize > 1 else { return }
        var start = 0
        while start + elementSize <= bytes.count {
            var low = start
            var high = start + elementSize - 1
            while low < high {
                bytes.swapAt(low, high)
                low += 1
                high -= 1
            }
            start += elementSize
        }
    }

    /// Reads an unsigned little-endian integer of `width` bytes at `offset`.
    /// The caller has checked that the bytes exist.
    static func readUnsigned(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in stride(from: offset + width - 1, through: offset, by: -1) {
            value = value << 8 | UInt64(bytes[index])
        }
        return value
    }

    /// Appends `value` as `width` little-endian bytes.
    static func appendUnsigned(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        for shift in 0..<width {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * shift)))
        }
    }
}
