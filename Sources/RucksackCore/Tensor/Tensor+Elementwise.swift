extension Tensor {
    /// The NumPy/PyTorch broadcast of two shapes (trailing axes aligned, extent 1 stretches).
    public static func broadcastShape(_ lhs: [Int], _ rhs: [Int], operation: String = "broadcast") throws -> [Int] {
        let rank = Swift.max(lhs.count, rhs.count)
        var result = [Int](repeating: 1, count: rank)
        for axis in 0..<rank {
            let l = axis - (rank - lhs.count) >= 0 ? lhs[axis - (rank - lhs.count)] : 1
            let r = axis - (rank - rhs.count) >= 0 ? rhs[axis - (rank - rhs.count)] : 1
            guard l == r || l == 1 || r == 1 else {
                throw TensorError.shapeMismatch(operation: operation, lhs: lhs, rhs: rhs)
            }
            result[axis] = l == 1 ? r : l
        }
        return result
    }

    /// Applies `body` to every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func map(_ body: (Scalar) -> Scalar) -> Tensor {
        var result = scalars
        result.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = body(buffer[i]) }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// Combines two tensors element by element after broadcasting them to a common shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func zipWith(_ other: Tensor, operation: String = "zipWith", _ body: (Scalar, Scalar) -> Scalar) throws -> Tensor {
        let shape = try Tensor.broadcastShape(self.shape, other.shape, operation: operation)
        if other.count == 1 && self.shape == shape {
            let value = other.scalars[0]
            return map { body($0, value) }
        }
        if count == 1 && other.shape == shape {
            let value = scalars[0]
            return other.map { body(value, $0) }
        }
        let lhs = try expanded(to: shape)
        let rhs = try other.expanded(to: shape)
        var result = [Scalar](repeating: 0, count: lhs.count)
        lhs.scalars.withUnsafeBufferPointer { l in
            rhs.scalars.withUnsafeBufferPointer { r in
                result.withUnsafeMutableBufferPointer { out in
                    for i in out.indices { out[i] = body(l[i], r[i]) }
                }
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// Element-wise sum with broadcasting.
    @inlinable
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "add", +) }
    /// Element-wise difference with broadcasting.
    @inlinable
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "subtract", -) }
    /// Element-wise product with broadcasting.
    @inlinable
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "multiply", *) }
    /// Element-wise quotient with broadcasting.
    @inlinable
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "divide", /) }

    @inlinable
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 + rhs } }
    @inlinable
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 - rhs } }
    @inlinable
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 * rhs } }
    @inlinable
    public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 / rhs } }
    @inlinable
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    @inlinable
    public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    @inlinable
    public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }

    /// The larger of two elements, broadcasting; NaN wins, as in `torch.maximum`.
    @inlinable
    public func maximum(_ other: Tensor) throws -> Tensor {
        try zipWith(other, operation: "maximum") { a, b in a.isNaN || a > b ? a : b }
    }

    /// The smaller of two elements, broadcasting; NaN wins, as in `torch.minimum`.
    @inlinable
    public func minimum(_ other: Tensor) throws -> Tensor {
        try zipWith(other, operation: "minimum") { a, b in a.isNaN || a < b ? a : b }
    }
}
