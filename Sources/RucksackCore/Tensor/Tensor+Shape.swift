import CRucksackKernels

extension Tensor {
    /// The same elements viewed with another shape; one extent may be `-1` and is inferred.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let operation = "reshape"
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1 else {
            throw TensorError.invalidShape(operation: operation, shape: newShape, reason: "more than one -1")
        }
        var resolved = newShape
        if let axis = inferred.first {
            resolved[axis] = 1
            let known = try Tensor.elementCount(of: resolved, operation: operation)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: newShape)
            }
            resolved[axis] = count / known
        }
        guard try Tensor.elementCount(of: resolved, operation: operation) == count else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: newShape)
        }
        return Tensor(unchecked: resolved, scalars: scalars)
    }

    /// Reorders the axes: axis `d` of the result is axis `axes[d]` of `self` (like `torch.permute`).
    @inlinable
    public func permuted(_ axes: [Int]) throws -> Tensor {
        let operation = "permute"
        guard axes.count == rank else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "permutation \(axes) does not fit shape \(shape)")
        }
        let normalized = try axes.map { try normalizedAxis($0, operation: operation) }
        guard Set(normalized).count == rank else {
            throw TensorError.invalidArgument(operation: operation, reason: "\(axes) is not a permutation")
        }
        // Moving axes of extent 1 moves no data: when the others keep their order, the
        // permutation is a reshape.
        let moving = normalized.filter { shape[$0] != 1 }
        if moving == moving.sorted() { return Tensor(unchecked: normalized.map { shape[$0] }, scalars: scalars) }
        if let (batches, rows, columns) = Self.batchedTransposeExtents(moving: moving, shape: shape) {
            return Tensor(unchecked: normalized.map { shape[$0] },
                          scalars: Self.transposedBatches(scalars, batches: batches, rows: rows, columns: columns))
        }
        let strides = Tensor.strides(of: shape)
        return gathered(offsets: normalized.map { axis in
            (0..<shape[axis]).map { $0 * strides[axis] }
        })
    }

    /// When the permutation (of the axes longer than 1, in result order) keeps some leading axes
    /// and swaps two groups of consecutive axes after them, `[B, R, C] → [B, C, R]`: the extents.
    @usableFromInline
    static func batchedTransposeExtents(moving: [Int], shape: [Int]) -> (batches: Int, rows: Int, columns: Int)? {
        let sorted = moving.sorted(), k = moving.count
        for p in 0..<k {
            for q in (p + 1)..<k where Array(moving) == Array(sorted[..<p] + sorted[q...] + sorted[p..<q]) {
                let extent = { (axes: ArraySlice<Int>) in axes.reduce(1) { $0 * shape[$1] } }
                return (extent(sorted[..<p]), extent(sorted[p..<q]), extent(sorted[q...]))
            }
        }
        return nil
    }

    /// `[B, R, C] → [B, C, R]` in 16 × 16 tiles turned in registers (`transpose.c`), bands of 16
    /// rows shared out over the threads.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func transposedBatches(_ source: [Scalar], batches: Int, rows: Int, columns: Int) -> [Scalar] {
        let count = batches * rows * columns, units = batches * ((rows + 15) / 16)
        return source.withUnsafeBufferPointer { x in
            [Scalar](unsafeUninitializedCapacity: count) { out, initialized in
                let (x, y) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                forEachSlice(of: units, parts: threadsFor(elements: count, units: units, threads: MatrixBackend.current.threads)) { _, bands in
                    if Scalar.self == Float.self {
                        rk_s_transpose_batches(x.cast(Float.self), y.cast(Float.self), rows, columns, bands.lowerBound, bands.upperBound)
                    } else {
                        rk_d_transpose_batches(x.cast(Double.self), y.cast(Double.self), rows, columns, bands.lowerBound, bands.upperBound)
                    }
                }
                initialized = count
            }
        }
    }

    /// Swaps two axes.
    @inlinable
    public func transposed(_ first: Int = -2, _ second: Int = -1) throws -> Tensor {
        let a = try normalizedAxis(first, operation: "transpose")
        let b = try normalizedAxis(second, operation: "transpose")
        var axes = Array(0..<rank)
        axes.swapAt(a, b)
        return try permuted(axes)
    }

    /// Inserts an axis of extent 1 at `axis` (which may equal `rank`).
    public func unsqueezed(at axis: Int) throws -> Tensor {
        let position = try Tensor.normalize(axis: axis, rank: rank + 1, operation: "unsqueeze")
        var newShape = shape
        newShape.insert(1, at: position)
        return Tensor(unchecked: newShape, scalars: scalars)
    }

    /// Removes an axis of extent 1.
    public func squeezed(at axis: Int) throws -> Tensor {
        let position = try normalizedAxis(axis, operation: "squeeze")
        guard shape[position] == 1 else {
            throw TensorError.invalidArgument(
                operation: "squeeze", reason: "axis \(axis) of shape \(shape) has extent \(shape[position]), not 1")
        }
        var newShape = shape
        newShape.remove(at: position)
        return Tensor(unchecked: newShape, scalars: scalars)
    }

    /// Merges the axes `start ... end` into one (like `torch.flatten`).
    public func flattened(from start: Int = 0, to end: Int = -1) throws -> Tensor {
        guard rank > 0 else { return Tensor(unchecked: [1], scalars: scalars) }
        let first = try normalizedAxis(start, operation: "flatten")
        let last = try normalizedAxis(end, operation: "flatten")
        guard first <= last else {
            throw TensorError.invalidArgument(operation: "flatten", reason: "start axis \(start) is after end axis \(end)")
        }
        let merged = shape[first...last].reduce(1, *)
        return Tensor(unchecked: Array(shape[..<first]) + [merged] + Array(shape[(last + 1)...]), scalars: scalars)
    }

    /// Repeats axes of extent 1 (and prepends new axes) to reach `targetShape`, like `torch.expand`.
    /// An extent of `-1` keeps the existing one.
    @inlinable
    public func expanded(to targetShape: [Int]) throws -> Tensor {
        let operation = "expand"
        guard targetShape.count >= rank else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: targetShape)
        }
        let lead = targetShape.count - rank
        let strides = Tensor.strides(of: shape)
        var resolved = targetShape
        var offsets: [[Int]] = []
        for axis in targetShape.indices {
            let sourceAxis = axis - lead
            let sourceExtent = sourceAxis >= 0 ? shape[sourceAxis] : 1
            if targetShape[axis] == -1 {
                guard sourceAxis >= 0 else {
                    throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: targetShape)
                }
                resolved[axis] = sourceExtent
            }
            let extent = resolved[axis]
            guard extent >= 0, sourceExtent == extent || sourceExtent == 1 else {
                throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: targetShape)
            }
            offsets.append(sourceExtent == 1 ? [Int](repeating: 0, count: extent)
                                             : (0..<extent).map { $0 * strides[sourceAxis] })
        }
        if resolved == shape { return self }
        return gathered(offsets: offsets)
    }
}
