import CRucksackKernels

extension Tensor {
    /// For every plane (`N·C`) and output position of max pooling with `geometry`, the window's
    /// maximum and its flat index into `self` (`[N, C, *spatial]`), or `0` and `-1` for a window
    /// that covers only padding. The first maximum in kernel order wins ties and NaN counts as the
    /// maximum, as in PyTorch. One pass over the windows, without forming the columns.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func windowMaxima(_ geometry: ConvolutionGeometry) throws -> (values: [Scalar], indices: [Int]) {
        let plan = try UnfoldPlan(geometry, inputShape: shape, operation: "window maximum")
        let planeSize = plan.input.reduce(1, *), windows = plan.output.reduce(1, *), count = plan.planes * windows
        // The kernel keeps the winners' offsets within a plane in integers as wide as a scalar.
        guard Scalar.self == Double.self || planeSize <= Int(Int32.max) else {
            throw TensorError.invalidArgument(operation: "window maximum", reason: "planes of \(planeSize) elements (input \(shape)) exceed 2³¹ − 1")
        }
        var indices = [Int]()
        // The kernel sets every entry of both.
        let values = [Scalar](unsafeUninitializedCapacity: count) { values, valuesWritten in
            indices = [Int](unsafeUninitializedCapacity: count) { best, bestWritten in
                scalars.withUnsafeBufferPointer { x in
                    let (x, value, best) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(values.baseAddress), UnsafeSendablePointer(best.baseAddress))
                    plan.run(elementsPerPlane: windows * plan.kernel.reduce(1, *)) { c, first, last in
                        // 16 planes turned element-major, and their maxima and winners.
                        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 16 * (planeSize + 2 * windows)) { scratch in
                            let scratch = UnsafeSendablePointer(scratch.baseAddress)
                            if Scalar.self == Float.self {
                                rk_s_window_max(c, first, last, x.cast(Float.self), value.cast(Float.self), best.cast(Int.self), scratch.cast(Float.self))
                            } else {
                                rk_d_window_max(c, first, last, x.cast(Double.self), value.cast(Double.self), best.cast(Int.self), scratch.cast(Double.self))
                            }
                        }
                    }
                }
                bestWritten = count
            }
            valuesWritten = count
        }
        return (values, indices)
    }
}

extension Tensor {
    /// Treats `self` as consecutive blocks of `blockSize` elements and picks, from each block,
    /// the elements at `indices` (offsets within the block): `[blocks · indices.count]` values.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func pickedFromBlocks(of blockSize: Int, at indices: [Int]) -> [Scalar] {
        let blocks = blockSize > 0 ? count / blockSize : 0
        var result = [Scalar](repeating: 0, count: blocks * indices.count)
        scalars.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { out in
                for block in 0..<blocks {
                    for (i, index) in indices.enumerated() { out[block * indices.count + i] = x[block * blockSize + index] }
                }
            }
        }
        return result
    }

    /// The adjoint of ``pickedFromBlocks(of:at:)``: adds the values of each block of
    /// `indices.count` elements onto a zero block of `blockSize` at `indices`.
    ///
    /// With `parts` > 1, the indices and each block split into that many equal runs, and the
    /// indices of each run point into the same run of the block (max pooling's winners stay in
    /// their plane): the runs are independent, so the threads share them even in a single block.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func addedIntoBlocks(of blockSize: Int, at indices: [Int], parts: Int = 1) -> [Scalar] {
        let blocks = indices.isEmpty ? 0 : count / indices.count
        let parts = blockSize % Swift.max(parts, 1) == 0 && indices.count % Swift.max(parts, 1) == 0 ? Swift.max(parts, 1) : 1
        let (width, partWidth, partSize) = (indices.count, indices.count / parts, blockSize / parts)
        // Each part is zeroed by the thread that adds into it, just before, while it is in cache.
        return [Scalar](unsafeUninitializedCapacity: blocks * blockSize) { result, written in
            scalars.withUnsafeBufferPointer { x in
                indices.withUnsafeBufferPointer { indices in
                    let (x, out, indices) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(result.baseAddress), UnsafeSendablePointer(indices.baseAddress))
                    let units = blocks * parts
                    forEachSlice(of: units, parts: threadsFor(elements: blocks * blockSize, units: units, threads: MatrixBackend.current.threads)) { _, slice in
                        for unit in slice {
                            let (block, part) = unit.quotientAndRemainder(dividingBy: parts)
                            let first = part * partWidth
                            let (source, target) = (x.pointer + block * width, out.pointer + block * blockSize)
                            (target + part * partSize).initialize(repeating: 0, count: partSize)
                            for i in first..<(first + partWidth) { target[indices.pointer[i]] += source[i] }
                        }
                    }
                }
            }
            written = blocks * blockSize
        }
    }
}
