/// An array as it is stored in a file: an element type, a shape and raw bytes.
///
/// `bytes` holds the elements in row-major order, each in little-endian byte order.
/// Every initializer checks that the byte count equals the element count times
/// ``DType/byteCount``, so an `ArrayData` value is always consistent.
public struct ArrayData: Sendable, Equatable {
    /// The element type.
    public let dtype: DType
    /// The extent of each axis, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The elements, row-major and little-endian.
    public let bytes: [UInt8]

    /// The number of elements: the product of `shape`.
    public var count: Int { bytes.count / dtype.byteCount }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// Creates an array from raw little-endian row-major bytes.
    /// - Throws: ``FormatError/invalidArray(operation:dtype:shape:reason:)`` when `shape` has a
    ///   negative extent, overflows, or does not match `bytes.count`.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        let operation = "ArrayData(dtype:shape:bytes:)"
        let count = try Self.checkedCount(shape: shape, dtype: dtype, operation: operation)
        guard bytes.count == count * dtype.byteCount else {
            throw FormatError.invalidArray(
                operation: operation, dtype: dtype, shape: shape,
                reason: "needs \(count * dtype.byteCount) bytes, got \(bytes.count)")
        }
        self.init(unchecked: dtype, shape: shape, bytes: bytes)
    }

    /// Trusted initializer for decoders that validated the sizes themselves.
    init(unchecked dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Creates an `F32` or `F64` array holding a tensor's elements, matching its scalar type.
    public init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
        let dtype = Scalar.dataType
        let bytes: [UInt8]
        if MemoryLayout<Scalar>.stride == dtype.byteCount {
            bytes = LittleEndianBytes.encode(tensor.scalars, elementSize: dtype.byteCount)
        } else if dtype == .float32 {
            // Only reachable for an unusual third-party `TensorScalar`; convert element-wise.
            bytes = LittleEndianBytes.encode(tensor.scalars.map { Float($0) }, elementSize: 4)
        } else {
            bytes = LittleEndianBytes.encode(tensor.scalars.map { Double($0) }, elementSize: 8)
        }
        self.init(unchecked: dtype, shape: tensor.shape, bytes: bytes)
    }

    /// Creates an `I64` array.
    /// - Throws: ``FormatError/invalidArray(operation:dtype:shape:reason:)`` when the counts differ.
    public init(_ values: [Int64], shape: [Int]) throws {
        try self.init(values, dtype: .int64, shape: shape, operation: "ArrayData([Int64], shape:)")
    }

    /// Creates an `I32` array.
    /// - Throws: ``FormatError/invalidArray(operation:dtype:shape:reason:)`` when the counts differ.
    public init(_ values: [Int32], shape: [Int]) throws {
        try self.init(values, dtype: .int32, shape: shape, operation: "ArrayData([Int32], shape:)")
    }

    /// Creates a `U8` array.
    /// - Throws: ``FormatError/invalidArray(operation:dtype:shape:reason:)`` when the counts differ.
    public init(_ values: [UInt8], shape: [Int]) throws {
        try self.init(values, dtype: .uint8, shape: shape, operation: "ArrayData([UInt8], shape:)")
    }

    /// Creates a `BOOL` array, one byte per element (0 or 1).
    /// - Throws: ``FormatError/invalidArray(operation:dtype:shape:reason:)`` when the counts differ.
    public init(_ values: [Bool], shape: [Int]) throws {
        try self.init(values.map { $0 ? 1 : 0 } as [UInt8], dtype: .bool, shape: shape,
                      operation: "ArrayData([Bool], shape:)")
    }

    private init<T: FixedWidthInteger>(_ values: [T], dtype: DType, shape: [Int], operation: String) throws {
        let count = try Self.checkedCount(shape: shape, dtype: dtype, operation: operation)
        guard values.count == count else {
            throw FormatError.invalidArray(
                operation: operation, dtype: dtype, shape: shape,
                reason: "needs \(count) elements, got \(values.count)")
        }
        self.init(unchecked: dtype, shape: shape,
                  bytes: LittleEndianBytes.encode(values, elementSize: dtype.byteCount))
    }

    /// The elements as a tensor of the requested precision, converting between `F32` and `F64`.
    /// - Throws: ``FormatError/dtypeMismatch(operation:dtype:accepted:)`` for integer and boolean arrays.
    public func tensor<Scalar: TensorScalar>(as type: Scalar.Type = Scalar.self) throws -> Tensor<Scalar> {
        let scalars: [Scalar]
        if dtype == Scalar.dataType, MemoryLayout<Scalar>.stride == dtype.byteCount {
            scalars = LittleEndianBytes.decode(bytes, as: Scalar.self, elementSize: dtype.byteCount)
        } else if dtype == .float32 {
            scalars = LittleEndianBytes.decode(bytes, as: Float.self, elementSize: 4).map { Scalar($0) }
        } else if dtype == .float64 {
            scalars = LittleEndianBytes.decode(bytes, as: Double.self, elementSize: 8).map { Scalar($0) }
        } else {
            throw FormatError.dtypeMismatch(
                operation: "ArrayData.tensor(as: \(Scalar.self).self)", dtype: dtype, accepted: [.float32, .float64])
        }
        return Tensor(unchecked: shape, scalars: scalars)
    }

    /// The elements of an `I64`, `I32` or `U8` array, widened to `Int64`.
    /// - Throws: ``FormatError/dtypeMismatch(operation:dtype:accepted:)`` for other dtypes.
    public func int64Values() throws -> [Int64] {
        switch dtype {
        case .int64: LittleEndianBytes.decode(bytes, as: Int64.self, elementSize: 8)
        case .int32: LittleEndianBytes.decode(bytes, as: Int32.self, elementSize: 4).map(Int64.init)
        case .uint8: bytes.map(Int64.init)
        default:
            throw FormatError.dtypeMismatch(
                operation: "ArrayData.int64Values()", dtype: dtype, accepted: [.int64, .int32, .uint8])
        }
    }

    /// The elements of a `U8` array.
    /// - Throws: ``FormatError/dtypeMismatch(operation:dtype:accepted:)`` for other dtypes.
    public func uint8Values() throws -> [UInt8] {
        guard dtype == .uint8 else {
            throw FormatError.dtypeMismatch(operation: "ArrayData.uint8Values()", dtype: dtype, accepted: [.uint8])
        }
        return bytes
    }

    /// The elements of a `BOOL` array; any nonzero byte reads as `true`, as in NumPy.
    /// - Throws: ``FormatError/dtypeMismatch(operation:dtype:accepted:)`` for other dtypes.
    public func boolValues() throws -> [Bool] {
        guard dtype == .bool else {
            throw FormatError.dtypeMismatch(operation: "ArrayData.boolValues()", dtype: dtype, accepted: [.bool])
        }
        return bytes.map { $0 != 0 }
    }

    /// The product of `shape`, or `nil` when an extent is negative or the product (or its size
    /// in bytes at `elementSize` bytes per element) overflows `Int`.
    static func elementCount(of shape: [Int], elementSize: Int) -> Int? {
        var count = 1
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            count = product
        }
        guard !count.multipliedReportingOverflow(by: elementSize).overflow else { return nil }
        return count
    }

    private static func checkedCount(shape: [Int], dtype: DType, operation: String) throws -> Int {
        guard let count = elementCount(of: shape, elementSize: dtype.byteCount) else {
            throw FormatError.invalidArray(
                operation: operation, dtype: dtype, shape: shape,
                reason: "extents must be non-negative and their product must fit in memory")
        }
        return count
    }
}
