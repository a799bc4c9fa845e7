/// An N-dimensional, row-major array of `Float` or `Double` with value semantics.
///
/// Storage is a Swift array, so copies are cheap and copy-on-write. Every operation
/// checks shapes and throws ``TensorError`` instead of trapping.
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable {
    /// The extent of each axis, outermost first.
    public internal(set) var shape: [Int]
    /// The elements in row-major order.
    public internal(set) var scalars: [Scalar]

    /// Creates a tensor from its shape and row-major elements.
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` when the counts differ.
    public init(shape: [Int], scalars: [Scalar]) throws {
        let count = try Tensor.elementCount(of: shape, operation: "Tensor(shape:scalars:)")
        guard count == scalars.count else {
            throw TensorError.invalidShape(
                operation: "Tensor(shape:scalars:)", shape: shape,
                reason: "needs \(count) elements, got \(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor filled with one value.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(repeating value: Scalar, shape: [Int]) throws {
        let count = try MemoryBudget.check(shape, of: Scalar.self, operation: "Tensor(repeating:shape:)")
        self.shape = shape
        self.scalars = Array(repeating: value, count: count)
    }

    /// Creates a tensor of zeros.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(zeros shape: [Int]) throws {
        try self.init(repeating: 0, shape: shape)
    }

    /// A rank-0 tensor holding one value.
    public init(_ value: Scalar) {
        shape = []
        scalars = [value]
    }

    /// Trusted initializer for operations that computed a consistent shape themselves.
    @usableFromInline
    init(unchecked shape: [Int], scalars: [Scalar]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// The number of elements.
    public var count: Int { scalars.count }

    /// Whether every element is a finite number (no NaN, no ±∞).
    public var isFinite: Bool { scalars.allSatisfy(\.isFinite) }

    /// The product of `shape`, refusing negative extents and overflow.
    public static func elementCount(of shape: [Int], operation: String) throws -> Int {
        var count = 1
        for extent in shape {
            guard extent >= 0 else {
                throw TensorError.invalidShape(operation: operation, shape: shape, reason: "negative extent")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw TensorError.invalidShape(operation: operation, shape: shape, reason: "too many elements")
            }
            count = product
        }
        return count
    }
}
