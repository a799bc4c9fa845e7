extension Tensor {
    /// Row-major element strides of `shape`.
    @inlinable
    static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Maps a possibly negative axis into `0 ..< rank`.
    @inlinable
    func normalizedAxis(_ axis: Int, operation: String) throws -> Int {
        try Tensor.normalize(axis: axis, rank: rank, operation: operation)
    }

    @inlinable
    static func normalize(axis: Int, rank: Int, operation: String) throws -> Int {
        let normalized = axis < 0 ? axis + rank : axis
        guard normalized >= 0, normalized < rank else {
            throw TensorError.axisOutOfRange(operation: operation, axis: axis, rank: rank)
        }
        return normalized
    }

    /// Builds a tensor of shape `offsets.map(\.count)` whose element at `(i₀, i₁, …)` is
    /// `scalars[Σ_d offsets[d][i_d]]`, or `fill` where any of those offsets is negative.
    ///
    /// Permutations, slices, index selection, padding and broadcasting all reduce to this one
    /// gather by choosing the per-axis offset tables.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    func gathered(offsets: [[Int]], fill: Scalar = 0) -> Tensor {
        let outShape = offsets.map(\.count)
        let total = outShape.reduce(1, *)
        guard total > 0 else { return Tensor(unchecked: outShape, scalars: []) }
        guard let inner = offsets.last else { return self }
        let outerRank = offsets.count - 1
        let innerIsContiguous = inner.first.map { first in
            first >= 0 && inner.indices.allSatisfy { inner[$0] == first + $0 }
        } ?? false
        var result = [Scalar](repeating: fill, count: total)
        scalars.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                var index = [Int](repeating: 0, count: outerRank)
                var outerOffset = 0
                var outerValid = true
                for axis in 0..<outerRank {
                    let first = offsets[axis][0]
                    outerValid = outerValid && first >= 0
                    outerOffset += first
                }
                var written = 0
                while written < total {
                    if outerValid {
                        if innerIsContiguous {
                            let start = outerOffset + inner[0]
                            for i in 0..<inner.count { destination[written + i] = source[start + i] }
                        } else {
                            for i in 0..<inner.count where inner[i] >= 0 {
                                destination[written + i] = source[outerOffset + inner[i]]
                            }
                        }
                    }
                    written += inner.count
                    // Advance the odometer over the outer axes and recompute the outer offset.
                    var axis = outerRank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < outShape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                    guard axis >= 0 else { break }
                    outerOffset = 0
                    outerValid = true
                    for d in 0..<outerRank {
                        let offset = offsets[d][index[d]]
                        outerValid = outerValid && offset >= 0
                        outerOffset += offset
                    }
                }
            }
        }
        return Tensor(unchecked: outShape, scalars: result)
    }
}
