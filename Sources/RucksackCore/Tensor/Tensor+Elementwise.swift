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
        let result = scalars.withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: source.count) { out, initialized in
                for i in source.indices { out[i] = body(source[i]) }
                initialized = source.count
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// Combines two tensors element by element after broadcasting them to a common shape.
    ///
    /// One pass over the result: broadcast operands are read with stride zero, never expanded.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func zipWith(_ other: Tensor, operation: String = "zipWith", _ body: (Scalar, Scalar) -> Scalar) throws -> Tensor {
        let shape = try Tensor.broadcastShape(self.shape, other.shape, operation: operation)
        let total = try MemoryBudget.check(shape, of: Scalar.self, operation: operation)
        let walk = BroadcastWalk(shape: shape, lhs: self.shape, rhs: other.shape)
        let result = scalars.withUnsafeBufferPointer { l in
            other.scalars.withUnsafeBufferPointer { r in
                [Scalar](unsafeUninitializedCapacity: total) { out, initialized in
                    let (n, ls, rs) = (walk.innerCount, walk.innerLhsStep, walk.innerRhsStep)
                    // Pointers moved to the run's start, so the loops index from zero without
                    // overflow checks on the offsets and vectorise.
                    walk.forEachRun { o, lo, ro in
                        let (out, l, r) = (out.baseAddress! + o, l.baseAddress! + lo, r.baseAddress! + ro)
                        if ls == 1 && rs == 1 {
                            for i in 0..<n { out[i] = body(l[i], r[i]) }
                        } else if ls == 1 && rs == 0 {
                            let b = r[0]
                            for i in 0..<n { out[i] = body(l[i], b) }
                        } else if ls == 0 && rs == 1 {
                            let a = l[0]
                            for i in 0..<n { out[i] = body(a, r[i]) }
                        } else {
                            for i in 0..<n { out[i] = body(l[i &* ls], r[i &* rs]) }
                        }
                    }
                    initialized = total
                }
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// Element-wise sum with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "add", +) }
    /// Element-wise difference with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "subtract", -) }
    /// Element-wise product with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "multiply", *) }
    /// Element-wise quotient with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipWith(rhs, operation: "divide", /) }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 + rhs } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 - rhs } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 * rhs } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 / rhs } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }

    /// `self + bias` with `bias: [C]` added along axis 1 of `self: [N, C, *]` (a convolution's
    /// bias): the same sums as broadcasting, in one pass shared out over the threads by planes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func addingAlongChannels(_ bias: Tensor) throws -> Tensor {
        guard rank >= 2, bias.shape == [shape[1]] else {
            throw TensorError.shapeMismatch(operation: "add along channels", lhs: shape, rhs: bias.shape)
        }
        let (channels, total) = (shape[1], count)
        let planes = shape[0] * channels, size = planes > 0 ? total / planes : 0
        let result = scalars.withUnsafeBufferPointer { x in
            bias.scalars.withUnsafeBufferPointer { b in
                [Scalar](unsafeUninitializedCapacity: total) { out, initialized in
                    let (x, b, out) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(b.baseAddress), UnsafeSendablePointer(out.baseAddress))
                    forEachSlice(of: planes, parts: threadsFor(elements: total, units: planes, threads: MatrixBackend.current.threads)) { _, slice in
                        for plane in slice {
                            let (source, target, value) = (x.pointer + plane * size, out.pointer + plane * size, b.pointer[plane % channels])
                            for i in 0..<size { target[i] = source[i] + value }
                        }
                    }
                    initialized = total
                }
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// The larger of two elements, broadcasting; NaN wins, as in `torch.maximum`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func maximum(_ other: Tensor) throws -> Tensor {
        try zipWith(other, operation: "maximum") { a, b in a.isNaN || a > b ? a : b }
    }

    /// The smaller of two elements, broadcasting; NaN wins, as in `torch.minimum`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func minimum(_ other: Tensor) throws -> Tensor {
        try zipWith(other, operation: "minimum") { a, b in a.isNaN || a < b ? a : b }
    }
}

/// The walk over a broadcast result `shape` with the offsets of both operands: axes of extent 1
/// are dropped and neighbouring axes that both operands step through alike are merged, so the
/// innermost run is as long as possible and each operand moves through it with a fixed step
/// (zero where it is broadcast).
@usableFromInline
struct BroadcastWalk {
    /// Outer axes (merged), outermost first, with each operand's stride along them.
    @usableFromInline let outer: [Int], outerLhs: [Int], outerRhs: [Int]
    @usableFromInline let innerCount: Int, innerLhsStep: Int, innerRhsStep: Int

    @usableFromInline
    init(shape: [Int], lhs: [Int], rhs: [Int]) {
        func strides(_ operand: [Int]) -> [Int] {
            let lead = shape.count - operand.count
            var result = [Int](repeating: 0, count: shape.count)
            var running = 1
            for axis in operand.indices.reversed() {
                result[lead + axis] = operand[axis] == 1 ? 0 : running
                running *= operand[axis]
            }
            return result
        }
        let (ls, rs) = (strides(lhs), strides(rhs))
        var extents: [Int] = [], a: [Int] = [], b: [Int] = []
        for axis in shape.indices where shape[axis] != 1 {
            if let last = extents.last, a.last! == ls[axis] * shape[axis], b.last! == rs[axis] * shape[axis] {
                extents[extents.count - 1] = last * shape[axis]
                a[a.count - 1] = ls[axis]
                b[b.count - 1] = rs[axis]
            } else {
                extents.append(shape[axis])
                a.append(ls[axis])
                b.append(rs[axis])
            }
        }
        let empty = shape.contains(0)
        innerCount = empty ? 0 : extents.last ?? 1
        innerLhsStep = a.last ?? 0
        innerRhsStep = b.last ?? 0
        outer = empty ? [] : Array(extents.dropLast())
        outerLhs = Array(a.dropLast())
        outerRhs = Array(b.dropLast())
    }

    /// Calls `body(result, lhs, rhs)` with the starting offsets of every inner run, in order.
    @inlinable
    func forEachRun(_ body: (_ result: Int, _ lhs: Int, _ rhs: Int) -> Void) {
        guard innerCount > 0 else { return }
        var index = [Int](repeating: 0, count: outer.count)
        var (out, l, r) = (0, 0, 0)
        while true {
            body(out, l, r)
            out += innerCount
            var axis = outer.count - 1
            while axis >= 0 {
                index[axis] += 1
                l += outerLhs[axis]
                r += outerRhs[axis]
                if index[axis] < outer[axis] { break }
                l -= outerLhs[axis] * outer[axis]
                r -= outerRhs[axis] * outer[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }
}

extension Array {
    /// The element-wise sum of non-empty tensors of one shape (the values of a parallel node's branches).
    public func added<Scalar: TensorScalar>() throws -> Tensor<Scalar> where Element == Tensor<Scalar> {
        guard let first else { throw TensorError.invalidArgument(operation: "sum of tensors", reason: "no tensors to add") }
        return try dropFirst().reduce(first) { try $0 + $1 }
    }
}
