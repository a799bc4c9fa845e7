import CRucksackKernels

extension Tensor {
    /// im2col: the patches a convolution with `geometry` multiplies with its kernel.
    ///
    /// Input `[N, C, *spatial]`, result `[N, C·∏kernel, L]` with `L = ∏output spatial` and rows
    /// ordered channel-major, then kernel taps row-major, as `torch.nn.functional.unfold`. With
    /// `groups = G`, the rows of group `g` are the contiguous block `g·(C/G)·∏kernel ..< (g+1)·…`.
    ///
    /// For a transposed geometry the rows hold, for every output position of the transposed
    /// convolution, the input value that each kernel tap meets there (zero where none), so that
    /// `ConvTranspose(x)[g] = Wᵀ_g · unfold(x)[g]` with the weight `[C_in, C_out/G, *kernel]`.
    ///
    /// Entries that fall on padding hold `paddingValue` (zero for convolutions; max pooling pads
    /// with −∞).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func unfolded(_ geometry: ConvolutionGeometry, paddingValue: Scalar = 0) throws -> Tensor {
        let plan = try UnfoldPlan(geometry, inputShape: shape, operation: "unfold")
        let count = try MemoryBudget.check(plan.columnsShape, of: Scalar.self, operation: "unfold")
        // The kernels write every entry, padding included.
        let result = scalars.withUnsafeBufferPointer { input in
            [Scalar](unsafeUninitializedCapacity: count) { columns, initialized in
                let (x, y) = (UnsafeSendablePointer(input.baseAddress), UnsafeSendablePointer(columns.baseAddress))
                plan.run(elementsPerPlane: plan.columnsShape[1] / Swift.max(plan.channels, 1) * plan.columnsShape[2]) { c, first, last in
                    if Scalar.self == Float.self {
                        rk_s_unfold(c, first, last, x.cast(Float.self), y.cast(Float.self), Float(paddingValue))
                    } else {
                        rk_d_unfold(c, first, last, x.cast(Double.self), y.cast(Double.self), Double(paddingValue))
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: plan.columnsShape, scalars: result)
    }

    /// col2im, the adjoint of ``unfolded(_:)``: adds every column entry back onto the input
    /// position it was read from. `self` is `[N, C·∏kernel, L]`; `inputSize` is the spatial
    /// shape of the unfolded input.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func folded(_ geometry: ConvolutionGeometry, channels: Int, inputSize: [Int]) throws -> Tensor {
        let inputShape = [shape.first ?? 0, channels] + inputSize
        let plan = try UnfoldPlan(geometry, inputShape: inputShape, operation: "fold")
        guard shape == plan.columnsShape else {
            throw TensorError.shapeMismatch(operation: "fold", lhs: shape, rhs: plan.columnsShape)
        }
        let count = try MemoryBudget.check(inputShape, of: Scalar.self, operation: "fold")
        // The kernels zero each plane before adding onto it.
        let result = scalars.withUnsafeBufferPointer { columns in
            [Scalar](unsafeUninitializedCapacity: count) { input, initialized in
                let (x, y) = (UnsafeSendablePointer(columns.baseAddress), UnsafeSendablePointer(input.baseAddress))
                plan.run(elementsPerPlane: plan.columnsShape[1] / Swift.max(channels, 1) * plan.columnsShape[2]) { c, first, last in
                    if Scalar.self == Float.self {
                        rk_s_fold(c, first, last, x.cast(Float.self), y.cast(Float.self))
                    } else {
                        rk_d_fold(c, first, last, x.cast(Double.self), y.cast(Double.self))
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: inputShape, scalars: result)
    }
}

/// The shapes and index tables shared by unfold and fold, with the walk over all
/// (column entry, input element) pairs that are not padding.
struct UnfoldPlan {
    let columnsShape: [Int]
    let planes: Int  // N·C
    let channels: Int
    // Per spatial axis, padded to three axes with extent 1 in front.
    let kernel: [Int]
    let input: [Int]
    let output: [Int]
    let tables: [[Int]]
    /// For each tap of the innermost axis, its valid (output, input) positions as one arithmetic
    /// run: `count` pairs from (`output`, `input`) in steps (`outputStep`, `inputStep`); flat,
    /// five numbers a tap, for the C kernels.
    let flatRuns: [Int]

    struct InnerRun {
        var output = 0, outputStep = 1, input = 0, inputStep = 1, count = 0
    }

    init(_ geometry: ConvolutionGeometry, inputShape: [Int], operation: String) throws {
        let spatialRank = geometry.spatialRank
        guard inputShape.count == spatialRank + 2 else {
            throw TensorError.invalidArgument(
                operation: operation,
                reason: "input shape \(inputShape) needs [N, C] and \(spatialRank) spatial axes for kernel \(geometry.kernelSize)")
        }
        let channels = inputShape[1]
        guard channels % geometry.groups == 0 else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "\(channels) channels of input \(inputShape) do not split into \(geometry.groups) groups")
        }
        let inputSize = Array(inputShape.dropFirst(2))
        let outputSize = try geometry.outputSize(inputSize: inputSize)
        let c = CheckedArithmetic(operation)
        let taps = try geometry.kernelSize.reduce(1, c.product)
        let shape = [inputShape[0], try c.product(channels, taps), try outputSize.reduce(1, c.product)]
        // The columns and the index tables must fit before either is made.
        try MemoryBudget.check(shape, of: Float.self, operation: operation)
        for axis in 0..<spatialRank {
            try MemoryBudget.check([geometry.kernelSize[axis], outputSize[axis]], of: Int.self, operation: operation)
        }
        let lead = [Int](repeating: 1, count: 3 - spatialRank)
        kernel = lead + geometry.kernelSize
        input = lead + inputSize
        output = lead + outputSize
        tables = [[Int]](repeating: [0], count: 3 - spatialRank)
            + geometry.inputIndexTables(inputSize: inputSize, outputSize: outputSize)
        planes = inputShape[0] * channels
        self.channels = channels
        flatRuns = try (0..<kernel[2]).flatMap { [tables, output] tap in
            let run = try UnfoldPlan.run(tables[2][(tap * output[2])..<((tap + 1) * output[2])], operation: operation)
            return [run.output, run.outputStep, run.input, run.inputStep, run.count]
        }
        columnsShape = shape
    }

    /// The valid entries of one tap's index table as an arithmetic run. Convolutions give a
    /// contiguous output range read with the stride; transposed ones every stride-th output.
    static func run(_ table: ArraySlice<Int>, operation: String) throws -> InnerRun {
        let valid = table.indices.filter { table[$0] >= 0 }
        guard let first = valid.first else { return InnerRun() }
        var run = InnerRun(output: first - table.startIndex, input: table[first], count: valid.count)
        if valid.count > 1 {
            run.outputStep = valid[1] - valid[0]
            run.inputStep = table[valid[1]] - table[valid[0]]
        }
        for (k, index) in valid.enumerated()
        where index != first + k * run.outputStep || table[index] != run.input + k * run.inputStep {
            throw TensorError.invalidArgument(operation: operation, reason: "internal: kernel positions are not an arithmetic run")
        }
        return run
    }

    /// Calls `body(plan, first, last)` on ranges of planes that together cover all of them,
    /// on several threads when there is enough work (the planes' outputs are disjoint).
    func run(elementsPerPlane: Int, _ body: @Sendable (UnsafePointer<rk_unfold_plan>, Int, Int) -> Void) {
        tables[0].withUnsafeBufferPointer { t0 in
            tables[1].withUnsafeBufferPointer { t1 in
                tables[2].withUnsafeBufferPointer { t2 in
                    flatRuns.withUnsafeBufferPointer { runs in
                        var plan = rk_unfold_plan(
                            planes: planes, kernel: (kernel[0], kernel[1], kernel[2]), input: (input[0], input[1], input[2]),
                            output: (output[0], output[1], output[2]), table0: t0.baseAddress, table1: t1.baseAddress,
                            table2: t2.baseAddress, runs: runs.baseAddress)
                        withUnsafePointer(to: &plan) { c in
                            let shared = UnsafeSendablePointer(c)
                            let threads = threadsFor(elements: planes * elementsPerPlane, units: planes, threads: MatrixBackend.current.threads)
                            forEachSlice(of: planes, parts: threads) { _, slice in body(shared.pointer, slice.lowerBound, slice.upperBound) }
                        }
                    }
                }
            }
        }
    }
}
