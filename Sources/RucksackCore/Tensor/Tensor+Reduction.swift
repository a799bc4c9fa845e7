extension Tensor {
    /// Moves the axes in `axes` to the end and returns the rearranged tensor together with the
    /// shape of what stays (`kept`) and the number of elements reduced per output (`block`).
    @inlinable
    func movingToEnd(_ axes: [Int], operation: String) throws -> (tensor: Tensor, kept: [Int], block: Int) {
        let reduced = Set(try axes.map { try normalizedAxis($0, operation: operation) })
        let keptAxes = (0..<rank).filter { !reduced.contains($0) }
        let reducedAxes = (0..<rank).filter { reduced.contains($0) }
        let moved = try permuted(keptAxes + reducedAxes)
        return (moved, keptAxes.map { shape[$0] }, reducedAxes.reduce(1) { $0 * shape[$1] })
    }

    /// The output shape of a reduction: reduced axes dropped, or kept with extent 1.
    @inlinable
    func reducedShape(_ axes: [Int], keepingAxes: Bool, operation: String) throws -> [Int] {
        let reduced = Set(try axes.map { try normalizedAxis($0, operation: operation) })
        return shape.indices.compactMap { axis in
            reduced.contains(axis) ? (keepingAxes ? 1 : nil) : shape[axis]
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    func reduced(
        _ axes: [Int]?, keepingAxes: Bool, operation: String,
        _ body: (UnsafeBufferPointer<Scalar>) -> Scalar
    ) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let (moved, _, block) = try movingToEnd(axes, operation: operation)
        let outShape = try reducedShape(axes, keepingAxes: keepingAxes, operation: operation)
        let outputs = outShape.reduce(1, *)
        var result = [Scalar](repeating: 0, count: outputs)
        moved.scalars.withUnsafeBufferPointer { source in
            for o in 0..<outputs {
                result[o] = body(UnsafeBufferPointer(rebasing: source[(o * block)..<((o + 1) * block)]))
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }

    /// Sum over `axes` (all axes when `nil`).
    @inlinable
    public func sum(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        try summed(axes ?? Array(0..<rank), keepingAxes: keepingAxes, operation: "sum")
    }

    /// Sums by walking the input once in memory order and adding each element into its output
    /// slot, so reduced axes anywhere cost no transposing copy.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    func summed(_ axes: [Int], keepingAxes: Bool, operation: String) throws -> Tensor {
        let outShape = try reducedShape(axes, keepingAxes: keepingAxes, operation: operation)
        let reduced = Set(try axes.map { try normalizedAxis($0, operation: operation) })
        // Output stride of each input axis; zero where the axis is summed away.
        var outStrides = [Int](repeating: 0, count: rank)
        var running = 1
        for axis in (0..<rank).reversed() where !reduced.contains(axis) {
            outStrides[axis] = running
            running *= shape[axis]
        }
        var result = [Scalar](repeating: 0, count: outShape.reduce(1, *))
        guard count > 0 else { return Tensor(unchecked: outShape, scalars: result) }
        guard rank > 0 else { return self }
        let inner = shape[rank - 1], innerStride = outStrides[rank - 1]
        scalars.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                var index = [Int](repeating: 0, count: rank - 1)
                var base = 0
                for start in stride(from: 0, to: source.count, by: inner) {
                    if innerStride == 0 {
                        var total: Scalar = 0
                        for i in 0..<inner { total += source[start + i] }
                        destination[base] += total
                    } else {
                        for i in 0..<inner { destination[base + i * innerStride] += source[start + i] }
                    }
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        base += outStrides[axis]
                        if index[axis] < shape[axis] { break }
                        base -= outStrides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }

    /// Mean over `axes` (all axes when `nil`). The mean over zero elements is NaN, as in PyTorch.
    @inlinable
    public func mean(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let total = try summed(axes, keepingAxes: keepingAxes, operation: "mean")
        let reducedCount = Set(try axes.map { try normalizedAxis($0, operation: "mean") }).reduce(1) { $0 * shape[$1] }
        return total / Scalar(reducedCount)
    }

    /// Maximum over `axes` (all axes when `nil`); NaN propagates. Throws for an empty reduction.
    public func max(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        try requireNonEmpty(axes, operation: "max")
        return try reduced(axes, keepingAxes: keepingAxes, operation: "max") { block in
            block[Tensor.indexOfMaximum(block)]
        }
    }

    /// Row-major indices of the maxima along `axis`; the result has `shape` without `axis`.
    /// The first maximum wins ties; a NaN counts as the maximum.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(axis: Int) throws -> (shape: [Int], indices: [Int]) {
        try requireNonEmpty([axis], operation: "argmax")
        let (moved, kept, block) = try movingToEnd([axis], operation: "argmax")
        let outputs = kept.reduce(1, *)
        let indices = moved.scalars.withUnsafeBufferPointer { source in
            (0..<outputs).map { o in
                Tensor.indexOfMaximum(UnsafeBufferPointer(rebasing: source[(o * block)..<((o + 1) * block)]))
            }
        }
        return (kept, indices)
    }

    /// The sum of all elements as a scalar.
    public func sumOfElements() -> Scalar {
        scalars.withUnsafeBufferPointer { buffer in
            var total: Scalar = 0
            for x in buffer { total += x }
            return total
        }
    }

    @inlinable
    static func indexOfMaximum(_ block: UnsafeBufferPointer<Scalar>) -> Int {
        var best = 0
        for i in block.indices.dropFirst() {
            if block[best].isNaN { break }
            if block[i].isNaN || block[i] > block[best] { best = i }
        }
        return best
    }

    private func requireNonEmpty(_ axes: [Int]?, operation: String) throws {
        let axes = try (axes ?? Array(0..<rank)).map { try normalizedAxis($0, operation: operation) }
        if axes.contains(where: { shape[$0] == 0 }) {
            throw TensorError.invalidArgument(
                operation: operation, reason: "cannot reduce over an empty axis of shape \(shape)")
        }
    }
}
