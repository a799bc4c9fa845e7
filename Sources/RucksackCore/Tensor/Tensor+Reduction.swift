extension Tensor {
    /// The output shape of a reduction: reduced axes dropped, or kept with extent 1.
    @inlinable
    func reducedShape(_ axes: [Int], keepingAxes: Bool, operation: String) throws -> [Int] {
        let reduced = Set(try axes.map { try normalizedAxis($0, operation: operation) })
        return shape.indices.compactMap { axis in
            reduced.contains(axis) ? (keepingAxes ? 1 : nil) : shape[axis]
        }
    }

    /// Sum over `axes` (all axes when `nil`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func sum(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        if rank >= 2, try Set(axes.map { try normalizedAxis($0, operation: "sum") }) == [rank - 1] {
            return try sumOfLastAxis(keepingAxes: keepingAxes)
        }
        return try accumulated(axes, keepingAxes: keepingAxes, operation: "sum", initial: 0, +, run: Tensor.sumOfRun)
    }

    /// The sum over the last axis (a bias gradient per sample and channel): one run per result,
    /// the results shared out over the threads; the same sums as ``accumulated(_:keepingAxes:operation:initial:_:run:)``.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sumOfLastAxis(keepingAxes: Bool) throws -> Tensor {
        let outShape = try reducedShape([rank - 1], keepingAxes: keepingAxes, operation: "sum")
        let (inner, outer) = (shape[rank - 1], outShape.reduce(1, *))
        let sums = scalars.withUnsafeBufferPointer { x in
            [Scalar](unsafeUninitializedCapacity: outer) { out, initialized in
                let (x, out) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                forEachSlice(of: outer, parts: threadsFor(elements: count, units: outer, threads: MatrixBackend.current.threads)) { _, slice in
                    for row in slice { out.pointer[row] = Tensor.sumOfRun(0, UnsafeBufferPointer(start: x.pointer + row * inner, count: inner)) }
                }
                initialized = outer
            }
        }
        return Tensor(unchecked: outShape, scalars: sums)
    }

    /// `initial + Σ run`, over eight interleaved partial sums so that the loop vectorises.
    @inlinable
    static func sumOfRun(_ initial: Scalar, _ run: UnsafeBufferPointer<Scalar>) -> Scalar {
        sumOfRun(initial, run, squaring: false)
    }

    /// `initial + Σ run` or, `squaring`, `initial + Σ run²`, the squares never stored.
    @inlinable
    static func sumOfRun(_ initial: Scalar, _ run: UnsafeBufferPointer<Scalar>, squaring: Bool) -> Scalar {
        var partial = SIMD8<Scalar>(repeating: 0)
        let whole = run.count / 8 * 8
        var i = 0
        while i < whole {
            let v = SIMD8(run[i], run[i + 1], run[i + 2], run[i + 3], run[i + 4], run[i + 5], run[i + 6], run[i + 7])
            partial += squaring ? v * v : v
            i += 8
        }
        var total = initial + partial.sum()
        while i < run.count {
            total += squaring ? run[i] * run[i] : run[i]
            i += 1
        }
        return total
    }

    /// `Σ x²` over every axis but the first, `[shape[0]]` (squared norms of per-sample tensors),
    /// in one pass that forms no squares, the rows shared between threads when there is work.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squaredNormsAlongFirstAxis() throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument(operation: "squaredNormsAlongFirstAxis", reason: "a scalar has no first axis") }
        let rows = shape[0], length = rows > 0 ? count / rows : 0
        let norms = scalars.withUnsafeBufferPointer { x in
            [Scalar](unsafeUninitializedCapacity: rows) { out, initialized in
                let (x, out) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                forEachSlice(of: rows, parts: threadsFor(elements: count, units: rows, threads: MatrixBackend.current.threads)) { _, slice in
                    for row in slice {
                        out.pointer[row] = Tensor.sumOfRun(0, UnsafeBufferPointer(start: x.pointer + row * length, count: length), squaring: true)
                    }
                }
                initialized = rows
            }
        }
        return Tensor(unchecked: [rows], scalars: norms)
    }

    /// `Σ_n x[n]²` over the first axis, `shape.dropFirst()` (the second moment of per-sample
    /// tensors), in one pass that forms no squares, columns shared between threads.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squaredSumAlongFirstAxis() throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument(operation: "squaredSumAlongFirstAxis", reason: "a scalar has no first axis") }
        let rows = shape[0], length = rows > 0 ? count / rows : Array(shape.dropFirst()).reduce(1, *)
        let moment = scalars.withUnsafeBufferPointer { x in
            [Scalar](unsafeUninitializedCapacity: length) { out, initialized in
                let (x, out) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                // Column blocks per thread; each adds the rows in order, so any split sums alike.
                let blocks = Swift.max(1, length / 4096)
                forEachSlice(of: blocks, parts: threadsFor(elements: count, units: blocks, threads: MatrixBackend.current.threads)) { _, slice in
                    let columns = (slice.lowerBound * length / blocks)..<(slice.upperBound * length / blocks)
                    let target = out.pointer + columns.lowerBound
                    target.initialize(repeating: 0, count: columns.count)
                    for row in 0..<rows {
                        let source = x.pointer + row * length + columns.lowerBound
                        for j in 0..<columns.count { target[j] += source[j] * source[j] }
                    }
                }
                initialized = length
            }
        }
        return Tensor(unchecked: Array(shape.dropFirst()), scalars: moment)
    }

    /// Reduces by walking the input once in memory order and combining each element into its
    /// output slot, so reduced axes anywhere cost no transposing copy.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    func accumulated(
        _ axes: [Int], keepingAxes: Bool, operation: String, initial: Scalar, _ combine: (Scalar, Scalar) -> Scalar,
        run combineRun: ((Scalar, UnsafeBufferPointer<Scalar>) -> Scalar)? = nil
    ) throws -> Tensor {
        let outShape = try reducedShape(axes, keepingAxes: keepingAxes, operation: operation)
        let reduced = Set(try axes.map { try normalizedAxis($0, operation: operation) })
        // Output stride of each input axis; zero where the axis is summed away.
        var outStrides = [Int](repeating: 0, count: rank)
        var running = 1
        for axis in (0..<rank).reversed() where !reduced.contains(axis) {
            outStrides[axis] = running
            running *= shape[axis]
        }
        var result = [Scalar](repeating: initial, count: outShape.reduce(1, *))
        guard count > 0 else { return Tensor(unchecked: outShape, scalars: result) }
        guard rank > 0 else { return Tensor(unchecked: outShape, scalars: [combine(initial, scalars[0])]) }
        if (1..<rank).contains(where: { Set(0..<$0) == reduced }) {
            // Leading axes summed away (a stack of per-sample results): whole rows at a time.
            let row = result.count
            scalars.withUnsafeBufferPointer { source in
                result.withUnsafeMutableBufferPointer { destination in
                    for start in stride(from: 0, to: source.count, by: row) {
                        let from = source.baseAddress! + start
                        for i in 0..<row { destination[i] = combine(destination[i], from[i]) }
                    }
                }
            }
            return Tensor(unchecked: outShape, scalars: result)
        }
        let inner = shape[rank - 1], innerStride = outStrides[rank - 1]
        scalars.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                var index = [Int](repeating: 0, count: rank - 1)
                var base = 0
                for start in stride(from: 0, to: source.count, by: inner) {
                    if innerStride == 0, let combineRun {
                        destination[base] = combineRun(destination[base], UnsafeBufferPointer(rebasing: source[start..<(start + inner)]))
                    } else if innerStride == 0 {
                        var total = destination[base]
                        for i in 0..<inner { total = combine(total, source[start + i]) }
                        destination[base] = total
                    } else if innerStride == 1 {  // a kept innermost axis: a contiguous loop that vectorises
                        let into = destination.baseAddress! + base, from = source.baseAddress! + start
                        for i in 0..<inner { into[i] = combine(into[i], from[i]) }
                    } else {
                        for i in 0..<inner {
                            destination[base + i * innerStride] = combine(destination[base + i * innerStride], source[start + i])
                        }
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
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let total = try accumulated(axes, keepingAxes: keepingAxes, operation: "mean", initial: 0, +, run: Tensor.sumOfRun)
        let reducedCount = Set(try axes.map { try normalizedAxis($0, operation: "mean") }).reduce(1) { $0 * shape[$1] }
        return total / Scalar(reducedCount)
    }

    /// Maximum over `axes` (all axes when `nil`); NaN propagates. Throws for an empty reduction.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func max(axes: [Int]? = nil, keepingAxes: Bool = false) throws -> Tensor {
        try requireNonEmpty(axes, operation: "max")
        return try accumulated(axes ?? Array(0..<rank), keepingAxes: keepingAxes, operation: "max", initial: -.infinity) { best, x in
            best.isNaN || x.isNaN ? .nan : Swift.max(best, x)
        }
    }

    /// Row-major indices of the maxima along `axis`; the result has `shape` without `axis`.
    /// The first maximum wins ties; a NaN counts as the maximum.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(axis: Int) throws -> (shape: [Int], indices: [Int]) {
        try requireNonEmpty([axis], operation: "argmax")
        let a = try normalizedAxis(axis, operation: "argmax")
        let extent = shape[a], inner = shape[(a + 1)...].reduce(1, *), outer = shape[..<a].reduce(1, *)
        var best = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                for k in 1..<Swift.max(extent, 1) {
                    for i in 0..<inner {
                        let current = x[(o * extent + best[o * inner + i]) * inner + i]
                        let candidate = x[(o * extent + k) * inner + i]
                        if !current.isNaN && (candidate.isNaN || candidate > current) { best[o * inner + i] = k }
                    }
                }
            }
        }
        var kept = shape
        kept.remove(at: a)
        return (kept, best)
    }

    /// The sum of all elements as a scalar.
    public func sumOfElements() -> Scalar {
        scalars.withUnsafeBufferPointer { buffer in
            var total: Scalar = 0
            for x in buffer { total += x }
            return total
        }
    }

    private func requireNonEmpty(_ axes: [Int]?, operation: String) throws {
        let axes = try (axes ?? Array(0..<rank)).map { try normalizedAxis($0, operation: operation) }
        if axes.contains(where: { shape[$0] == 0 }) {
            throw TensorError.invalidArgument(
                operation: operation, reason: "cannot reduce over an empty axis of shape \(shape)")
        }
    }
}
