extension Tensor {
    /// Per-axis offset tables that read `self` unchanged; callers replace one or more axes.
    @inlinable
    func identityOffsets() -> [[Int]] {
        let strides = Tensor.strides(of: shape)
        return shape.indices.map { axis in (0..<shape[axis]).map { $0 * strides[axis] } }
    }

    /// Elements `range` (every `step`-th one) along `axis`, like `x[..., start:end:step, ...]`.
    @inlinable
    public func sliced(axis: Int, range: Range<Int>, step: Int = 1) throws -> Tensor {
        let operation = "slice"
        let a = try normalizedAxis(axis, operation: operation)
        guard step > 0 else {
            throw TensorError.invalidArgument(operation: operation, reason: "step must be positive, got \(step)")
        }
        guard range.lowerBound >= 0, range.upperBound <= shape[a] else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "range \(range) is outside axis \(axis) of shape \(shape)")
        }
        guard step == 1 else {
            return try indexSelected(axis: a, indices: Array(stride(from: range.lowerBound, to: range.upperBound, by: step)))
        }
        if range == 0..<shape[a] { return self }
        // Contiguous runs, one per index of the axes before `a`: copied whole.
        let inner = shape[(a + 1)...].reduce(1, *), outer = shape[..<a].reduce(1, *)
        let run = range.count * inner, extent = shape[a] * inner
        var result = [Scalar]()
        result.reserveCapacity(outer * run)
        for o in 0..<outer {
            let start = o * extent + range.lowerBound * inner
            result.append(contentsOf: scalars[start..<(start + run)])
        }
        var resultShape = shape
        resultShape[a] = range.count
        return Tensor(unchecked: resultShape, scalars: result)
    }

    /// Gathers entries along `axis` by an index list; duplicates and any order are allowed
    /// (like `torch.index_select`).
    @inlinable
    public func indexSelected(axis: Int, indices: [Int]) throws -> Tensor {
        let operation = "indexSelect"
        let a = try normalizedAxis(axis, operation: operation)
        if let bad = indices.first(where: { $0 < 0 || $0 >= shape[a] }) {
            throw TensorError.invalidArgument(
                operation: operation, reason: "index \(bad) is out of range for axis \(axis) of shape \(shape)")
        }
        // Consecutive indices (a block of samples) are a slice: whole runs copied at once.
        if let first = indices.first, indices.indices.allSatisfy({ indices[$0] == first + $0 }) {
            return try sliced(axis: a, range: first..<(first + indices.count))
        }
        var offsets = identityOffsets()
        let stride = Tensor.strides(of: shape)[a]
        offsets[a] = indices.map { $0 * stride }
        return gathered(offsets: offsets)
    }

    /// The samples (first-axis entries) at `indices`, or the whole tensor when `indices` is `nil`:
    /// how sub-sampling picks from a batch.
    public func samples(_ indices: [Int]?) throws -> Tensor {
        try indices.map { try indexSelected(axis: 0, indices: $0) } ?? self
    }

    /// Pads (or, with negative widths, crops) each axis with `value`.
    ///
    /// `widths[d]` applies to axis `d + rank - widths.count`, so a short list pads the trailing
    /// axes, as with `torch.nn.functional.pad` read from the first axis on.
    @inlinable
    public func padded(_ widths: [(before: Int, after: Int)], value: Scalar = 0) throws -> Tensor {
        let operation = "pad"
        guard widths.count <= rank else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "\(widths.count) padding pairs for a tensor of shape \(shape)")
        }
        var offsets = identityOffsets()
        let strides = Tensor.strides(of: shape)
        let lead = rank - widths.count
        let c = CheckedArithmetic(operation)
        var outShape = shape
        for (i, width) in widths.enumerated() {
            outShape[lead + i] = try c.sum(c.sum(shape[lead + i], width.before), width.after)
        }
        // Negative extents are reported below; the result must fit before its offset tables are made.
        if outShape.allSatisfy({ $0 >= 0 }) { try MemoryBudget.check(outShape, of: Scalar.self, operation: operation) }
        for (i, width) in widths.enumerated() {
            let axis = lead + i
            let extent = outShape[axis]
            guard extent >= 0 else {
                throw TensorError.invalidArgument(
                    operation: operation,
                    reason: "padding (\(width.before), \(width.after)) leaves a negative extent on axis \(axis) of shape \(shape)")
            }
            offsets[axis] = (0..<extent).map { output in
                let source = output - width.before
                return source >= 0 && source < shape[axis] ? source * strides[axis] : -1
            }
        }
        return gathered(offsets: offsets, fill: value)
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concatenated(_ parts: [Tensor], axis: Int) throws -> Tensor {
        let operation = "concatenate"
        guard let first = parts.first else {
            throw TensorError.invalidArgument(operation: operation, reason: "no tensors to concatenate")
        }
        let a = try first.normalizedAxis(axis, operation: operation)
        for part in parts.dropFirst() {
            var expected = first.shape
            expected[a] = part.rank == first.rank ? part.shape[a] : -1
            guard part.shape == expected else {
                throw TensorError.shapeMismatch(operation: operation, lhs: first.shape, rhs: part.shape)
            }
        }
        let outer = first.shape[..<a].reduce(1, *)
        let blocks = parts.map { $0.shape[a...].reduce(1, *) }
        var shape = first.shape
        shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
        var result: [Scalar] = []
        result.reserveCapacity(outer * blocks.reduce(0, +))
        for o in 0..<outer {
            for (part, block) in zip(parts, blocks) {
                result.append(contentsOf: part.scalars[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// The results of `body` on consecutive ranges of `step` of the first `rows` indices, joined
    /// along the first axis. Each part is copied into the result as it comes and freed before the
    /// next is made, so the parts reuse one piece of memory; collecting them for
    /// ``concatenated(_:axis:)`` kept them all alive, in fresh pages, and copied them afterwards.
    /// A single part (all rows, or none) is the result itself, not copied.
    /// - Throws: what `body` throws, or ``TensorError/shapeMismatch(operation:lhs:rhs:)`` when a
    ///   part does not have the first part's shape with its range's extent in front.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func joinedAlongFirstAxis(rows: Int, step: Int, _ body: (Range<Int>) throws -> Tensor) throws -> Tensor {
        let operation = "joinedAlongFirstAxis"
        guard rows >= 0, step > 0 else {
            throw TensorError.invalidArgument(operation: operation, reason: "needs a number of rows (\(rows)) of at least 0 and a positive step (\(step))")
        }
        if rows <= step {
            let whole = try body(0..<rows)
            guard whole.rank > 0, whole.shape[0] == rows else {
                throw TensorError.shapeMismatch(operation: operation, lhs: [rows] + whole.shape.dropFirst(), rhs: whole.shape)
            }
            return whole
        }
        var shape: [Int] = [], scalars: [Scalar] = []
        for start in stride(from: 0, to: rows, by: step) {
            let range = start..<Swift.min(rows, start + step)
            let part = try body(range)
            if shape.isEmpty, part.rank > 0 {
                shape = part.shape
                shape[0] = rows
                scalars.reserveCapacity(try MemoryBudget.check(shape, of: Scalar.self, operation: operation))
            }
            guard part.rank > 0, part.shape[0] == range.count, part.shape.dropFirst().elementsEqual(shape.dropFirst()) else {
                throw TensorError.shapeMismatch(operation: operation, lhs: [range.count] + shape.dropFirst(), rhs: part.shape)
            }
            scalars.append(contentsOf: part.scalars)
        }
        return Tensor(unchecked: shape, scalars: scalars)
    }
}
