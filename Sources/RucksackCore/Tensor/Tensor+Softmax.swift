extension Tensor {
    /// `softmax` along `axis`, computed after subtracting the maximum so it never overflows.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softmax(axis: Int) throws -> Tensor {
        try alongAxis(axis, operation: "softmax") { row, out in
            let shift = Tensor.finiteMaximum(row)
            var total: Scalar = 0
            for i in row.indices {
                out[i] = .exp(row[i] - shift)
                total += out[i]
            }
            for i in row.indices { out[i] /= total }
        }
    }

    /// `log(softmax(x))` along `axis`, as `(x − max) − log Σ exp(x − max)`: the shifted
    /// logits are exact for the largest ones, so the result keeps its precision however large
    /// the logits are (forming `max + log Σ` first would round it away).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSoftmax(axis: Int) throws -> Tensor {
        try alongAxis(axis, operation: "logSoftmax") { row, out in
            let shift = Tensor.finiteMaximum(row)
            var total: Scalar = 0
            for x in row { total += .exp(x - shift) }
            let logTotal = Scalar.log(total)
            for i in row.indices { out[i] = (row[i] - shift) - logTotal }
        }
    }

    /// Runs `body` on every line of elements along `axis` (gathered contiguously), writing the result in place.
    private func alongAxis(
        _ axis: Int, operation: String,
        _ body: (UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) -> Void
    ) throws -> Tensor {
        let a = try normalizedAxis(axis, operation: operation)
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        var moved = try permuted(order)
        let length = shape[a]
        if length > 0 {
            let source = moved.scalars
            source.withUnsafeBufferPointer { input in
                moved.scalars.withUnsafeMutableBufferPointer { output in
                    for start in stride(from: 0, to: input.count, by: length) {
                        body(UnsafeBufferPointer(rebasing: input[start..<(start + length)]),
                             UnsafeMutableBufferPointer(rebasing: output[start..<(start + length)]))
                    }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        return try moved.permuted(inverse)
    }

    /// The largest finite-or-infinite value, or 0 when every value is −∞ (keeps `x - max` finite).
    private static func finiteMaximum(_ row: UnsafeBufferPointer<Scalar>) -> Scalar {
        var best = -Scalar.infinity
        for x in row where x > best { best = x }
        return best.isFinite ? best : 0
    }
}
