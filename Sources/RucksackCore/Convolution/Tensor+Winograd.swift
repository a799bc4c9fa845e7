import CRucksackKernels

extension Tensor {
    /// A 2-D convolution (PyTorch's cross-correlation) with 3×3 kernels, stride 1 and zero padding,
    /// by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2016): 16 multiplications for
    /// each 2×2 output tile instead of 36, so about 2.25 times fewer operations than unfolding and
    /// one matrix product, and no unfolded input.
    ///
    /// `self` is `[N, C, H, W]` and `kernels` `[K, C, 3, 3]`; the result is
    /// `[N, K, H + paddingBefore[0] + paddingAfter[0] − 2, W + …]`. With `adjoint`, the result is
    /// instead the transposed product of the convolution with these kernels and padding: `self`
    /// is then the stack `[N, K, H', W']` its outputs are shaped like, the result `[N, C, …]`
    /// the input-shaped one (a correlation with the kernels turned by 180 degrees and padding
    /// `2 − p`, so each padding must be at most 2).
    ///
    /// The transforms add and subtract a few inputs and halve the kernels, so in `Float` results
    /// differ from those of a direct convolution by a few units in the last place of the largest
    /// terms summed (the tests bound the error). The result does not depend on the number of
    /// threads.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradConvolution(
        kernels: Tensor, paddingBefore: [Int], paddingAfter: [Int], adjoint: Bool = false,
        backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = adjoint ? "Winograd transposed convolution" : "Winograd convolution"
        guard rank == 4, kernels.rank == 4, kernels.shape[2] == 3, kernels.shape[3] == 3,
              shape[1] == kernels.shape[adjoint ? 0 : 1] else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: kernels.shape)
        }
        let given = try Self.winogradPadding(paddingBefore, paddingAfter, atMost: adjoint ? 2 : nil, operation: operation)
        let (inChannels, outChannels) = adjoint ? (kernels.shape[0], kernels.shape[1]) : (kernels.shape[1], kernels.shape[0])
        let pad = adjoint ? given.map { 2 - $0 } : given
        let size = winogradOutputSize(padding: pad)
        guard size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "input \(shape) with padding \(paddingBefore), \(paddingAfter) is smaller than the 3×3 kernel")
        }
        let samples = shape[0]
        guard samples > 0, inChannels > 0, outChannels > 0 else {
            return try Tensor(zeros: [samples, outChannels] + size)
        }
        let tiles = (size[0] + 1) / 2 * ((size[1] + 1) / 2)
        let filter = try Self.winogradFilter(kernels, adjoint: adjoint)
        let step = try Self.winogradChunk(tiles: tiles, channels: Swift.max(inChannels, outChannels), operation: operation)
        return try Tensor.joinedAlongFirstAxis(rows: samples, step: step) { range in
            let chunk = try sliced(axis: 0, range: range)
            let tiling = WinogradTiling(inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: false)
            let transformed = try chunk.winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads)
            let products = try filter.matmul(transformed, backend: backend)
            return try products.winogradTransform(.output, plan: tiling.plan(channels: outChannels), threads: backend.threads)
        }
    }

    /// The gradient of a loss w.r.t. the kernels of ``winogradConvolution(kernels:paddingBefore:paddingAfter:adjoint:backend:)``
    /// (not `adjoint`) of this input `[N, C, H, W]`, given its gradient w.r.t. the output
    /// `[N, K, H', W']`: `[K, C, 3, 3]`, summed over the samples. The same algorithm backwards:
    /// the 16 products of the transformed output gradient with the transformed input, each
    /// summed over all tiles of all samples, then the adjoint of the kernel transform; about
    /// 2.25 times fewer operations than the product with the unfolded input.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradKernelGradient(
        outputGradient: Tensor, paddingBefore: [Int], paddingAfter: [Int], backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "Winograd kernel gradient"
        let pad = try Self.winogradPadding(paddingBefore, paddingAfter, operation: operation)
        let size = winogradOutputSize(padding: pad)
        guard rank == 4, outputGradient.rank == 4, outputGradient.shape[0] == shape[0],
              Array(outputGradient.shape.dropFirst(2)) == size, size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: outputGradient.shape)
        }
        let (samples, inChannels, outChannels) = (shape[0], shape[1], outputGradient.shape[1])
        let tiles = (size[0] + 1) / 2 * ((size[1] + 1) / 2)
        var products = try Tensor(zeros: [16, outChannels, inChannels])
        if samples > 0, inChannels > 0, outChannels > 0 {
            let step = try Self.winogradChunk(tiles: tiles, channels: Swift.max(inChannels, outChannels), operation: operation)
            for start in stride(from: 0, to: samples, by: step) {
                let range = start..<Swift.min(samples, start + step)
                let tiling = WinogradTiling(inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: false)
                let input = try sliced(axis: 0, range: range).winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads)
                let gradient = try outputGradient.sliced(axis: 0, range: range)
                    .winogradTransform(.outputAdjoint, plan: tiling.plan(channels: outChannels), threads: backend.threads)
                let part = try gradient.matmul(input, transposingOther: true, backend: backend)
                products = start == 0 ? part : try products + part
            }
        }
        return try Self.winogradKernelsAdjoint(products, leading: [], backend: backend)
    }

    /// Per-sample gradients w.r.t. the kernels, as ``winogradKernelGradient(outputGradient:paddingBefore:paddingAfter:backend:)``
    /// for each sample and each of a stack of output gradients: `outputGradients` `[V, N, K, H', W']`
    /// gives `[V, N, K, C, 3, 3]`. Each is made of 16 products summed over the tiles of its
    /// sample alone.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradPerSampleKernelGradients(
        outputGradients: Tensor, paddingBefore: [Int], paddingAfter: [Int], backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "Winograd per-sample kernel gradients"
        let pad = try Self.winogradPadding(paddingBefore, paddingAfter, operation: operation)
        let size = winogradOutputSize(padding: pad)
        guard rank == 4, outputGradients.rank == 5, outputGradients.shape[1] == shape[0],
              Array(outputGradients.shape.dropFirst(3)) == size, size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: outputGradients.shape)
        }
        let (stack, samples, inChannels, outChannels) = (outputGradients.shape[0], shape[0], shape[1], outputGradients.shape[2])
        let resultShape = [stack, samples, outChannels, inChannels, 3, 3]
        guard stack > 0, samples > 0, inChannels > 0, outChannels > 0 else { return try Tensor(zeros: resultShape) }
        try MemoryBudget.check(resultShape, of: Scalar.self, operation: operation)
        let tiles = (size[0] + 1) / 2 * ((size[1] + 1) / 2)
        let step = try Self.winogradChunk(tiles: tiles, channels: Swift.max(inChannels, outChannels), stack: stack, operation: operation)
        var parts: [Tensor] = []
        for start in stride(from: 0, to: samples, by: step) {
            let range = start..<Swift.min(samples, start + step)
            let tiling = WinogradTiling(inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: true)
            let input = try sliced(axis: 0, range: range).winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads)
            let stackTiling = WinogradTiling(inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: stack * range.count, perSample: true)
            let gradients = try outputGradients.sliced(axis: 1, range: range).flattened(from: 0, to: 1)
                .winogradTransform(.outputAdjoint, plan: stackTiling.plan(channels: outChannels), threads: backend.threads)
            // [V, n·16, K, T] times each sample's [n·16, C, T], transposed, shared along V.
            let products = try gradients.reshaped([stack, range.count * 16, outChannels, tiles])
                .matmul(input.reshaped([range.count * 16, inChannels, tiles]), transposingOther: true, backend: backend)
            parts.append(try Self.winogradKernelsAdjoint(products.reshaped([stack * range.count, 16, outChannels, inChannels]), leading: [stack, range.count], backend: backend))
        }
        return parts.count == 1 ? parts[0] : try Tensor.concatenated(parts, axis: 1)
    }

    /// The adjoint of the kernel transform on gradients of the 16 kernel matrices:
    /// `[*, 16, K, C]` (or `[16, K, C]`) to `[*leading, K, C, 3, 3]`.
    private static func winogradKernelsAdjoint(_ products: Tensor, leading: [Int], backend: MatrixBackend) throws -> Tensor {
        let (outChannels, inChannels) = (products.shape[products.rank - 2], products.shape[products.rank - 1])
        let block = 16 * outChannels * inChannels, kernels = outChannels * inChannels * 9
        let sets = products.count / Swift.max(block, 1)
        let count = sets * kernels
        let result = products.scalars.withUnsafeBufferPointer { du in
            [Scalar](unsafeUninitializedCapacity: count) { dw, initialized in
                let (du, dw) = (UnsafeSendablePointer(du.baseAddress), UnsafeSendablePointer(dw.baseAddress))
                let threads = threadsFor(elements: products.count, units: sets, threads: backend.threads)
                forEachSlice(of: sets, parts: threads) { _, slice in
                    for set in slice {
                        if Scalar.self == Float.self {
                            rk_s_winograd_filter_adjoint(du.cast(Float.self) + set * block, outChannels, inChannels, dw.cast(Float.self) + set * kernels)
                        } else {
                            rk_d_winograd_filter_adjoint(du.cast(Double.self) + set * block, outChannels, inChannels, dw.cast(Double.self) + set * kernels)
                        }
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: leading + [outChannels, inChannels, 3, 3], scalars: result)
    }

    /// `paddingBefore + paddingAfter`, checked: two values each, at least 0 (and at most `limit`).
    private static func winogradPadding(_ before: [Int], _ after: [Int], atMost limit: Int? = nil, operation: String) throws -> [Int] {
        guard before.count == 2, after.count == 2, (before + after).allSatisfy({ $0 >= 0 && $0 <= (limit ?? .max) }) else {
            throw TensorError.invalidArgument(
                operation: operation,
                reason: "padding \(before) before and \(after) after needs two values each, at least 0\(limit.map { " and at most \($0)" } ?? "")")
        }
        return before + after
    }

    /// The spatial output size of a 3×3 correlation of this `[N, C, H, W]` tensor with padding
    /// (top, left, bottom, right); empty for another rank.
    private func winogradOutputSize(padding pad: [Int]) -> [Int] {
        rank == 4 ? [shape[2] + pad[0] + pad[2] - 2, shape[3] + pad[1] + pad[3] - 2] : []
    }

    /// Samples per chunk, so that the transformed stacks (16 values per tile of the larger
    /// channel count, for each of `stack` vectors) stay near 2²⁴ elements (64 MiB in Float); one
    /// sample at least.
    private static func winogradChunk(tiles: Int, channels: Int, stack: Int = 1, operation: String) throws -> Int {
        let perSample = try [16, tiles, channels, stack].reduce(1, CheckedArithmetic(operation).product)
        return Swift.max(1, (1 << 24) / perSample)
    }

    /// The 16 kernel matrices `[16, K, C]` (with `adjoint`, `[16, C, K]`) of `kernels` `[K, C, 3, 3]`.
    private static func winogradFilter(_ kernels: Tensor, adjoint: Bool) throws -> Tensor {
        let (k, c) = (kernels.shape[0], kernels.shape[1])
        let shape = [16] + (adjoint ? [c, k] : [k, c])
        let count = try MemoryBudget.check(shape, of: Scalar.self, operation: "Winograd kernels")
        let result = kernels.scalars.withUnsafeBufferPointer { w in
            [Scalar](unsafeUninitializedCapacity: count) { u, initialized in
                if Scalar.self == Float.self {
                    rk_s_winograd_filter(UnsafeSendablePointer(w.baseAddress).cast(Float.self), k, c, adjoint ? 1 : 0,
                                         UnsafeSendablePointer(u.baseAddress).cast(Float.self))
                } else {
                    rk_d_winograd_filter(UnsafeSendablePointer(w.baseAddress).cast(Double.self), k, c, adjoint ? 1 : 0,
                                         UnsafeSendablePointer(u.baseAddress).cast(Double.self))
                }
                initialized = count
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// The three transforms over the planes of a stack of samples.
    private enum WinogradTransform {
        /// `[n, C, H, W]` to the 16 matrices `[16, C, n · tiles]`.
        case input
        /// Products `[16, K, n · tiles]` to the output `[n, K, H', W']`.
        case output
        /// An output gradient `[n, K, H', W']` to `[16, K, n · tiles]`, the adjoint of `output`.
        case outputAdjoint
    }

    /// `transform` of `plan` applied to `self`, a thread per part of the planes when there is
    /// enough work.
    private func winogradTransform(_ transform: WinogradTransform, plan: WinogradTiling.Plan, threads: Int) throws -> Tensor {
        let outputShape = transform == .output ? plan.outputShape : plan.transformedShape
        let count = try MemoryBudget.check(outputShape, of: Scalar.self, operation: "Winograd transform")
        let (plan, planes) = (transform == .input ? plan.input : plan.output, plan.planes)
        let result = scalars.withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: count) { target, initialized in
                let (x, y) = (UnsafeSendablePointer(source.baseAddress), UnsafeSendablePointer(target.baseAddress))
                withUnsafePointer(to: plan) { plan in
                    let shared = UnsafeSendablePointer(plan)
                    let threads = threadsFor(elements: Swift.max(count, self.count), units: planes, threads: threads)
                    forEachSlice(of: planes, parts: threads) { _, slice in
                        let (p, first, last) = (shared.pointer, slice.lowerBound, slice.upperBound)
                        if Scalar.self == Float.self {
                            let (x, y) = (x.cast(Float.self), y.cast(Float.self))
                            switch transform {
                            case .input: rk_s_winograd_input(p, first, last, x, y)
                            case .output: rk_s_winograd_output(p, first, last, x, y)
                            case .outputAdjoint: rk_s_winograd_output_adjoint(p, first, last, x, y)
                            }
                        } else {
                            let (x, y) = (x.cast(Double.self), y.cast(Double.self))
                            switch transform {
                            case .input: rk_d_winograd_input(p, first, last, x, y)
                            case .output: rk_d_winograd_output(p, first, last, x, y)
                            case .outputAdjoint: rk_d_winograd_output_adjoint(p, first, last, x, y)
                            }
                        }
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: outputShape, scalars: result)
    }
}

/// How a convolution's input or output splits into Winograd tiles, for `samples` samples, and
/// how their transforms are laid out: as 16 matrices `[channels, samples · tiles]`, or with
/// `perSample` as 16 matrices `[channels, tiles]` for each sample.
struct WinogradTiling {
    let inputSize: [Int], padding: [Int], outputSize: [Int], samples: Int, perSample: Bool

    var tilesHigh: Int { (outputSize[0] + 1) / 2 }
    var tilesWide: Int { (outputSize[1] + 1) / 2 }
    var tiles: Int { tilesHigh * tilesWide }

    /// A transform's plan for a tensor of `channels` channels: the input's `[samples, C, H, W]`,
    /// or the output's `[samples, K, H', W']`.
    struct Plan {
        /// The input transform reads the input's planes; the output transform and its adjoint
        /// the output's.
        let input: rk_winograd_plan, output: rk_winograd_plan
        let planes: Int
        let transformedShape: [Int], outputShape: [Int]
    }

    func plan(channels: Int) -> Plan {
        let (sampleStride, channelStride, matrixStride) = perSample
            ? (16 * channels * tiles, tiles, channels * tiles)
            : (tiles, samples * tiles, channels * samples * tiles)
        let plan = rk_winograd_plan(
            channels: channels, height: inputSize[0], width: inputSize[1], padTop: padding[0], padLeft: padding[1],
            tilesHigh: tilesHigh, tilesWide: tilesWide, sampleStride: sampleStride, channelStride: channelStride, matrixStride: matrixStride)
        var output = plan
        (output.height, output.width) = (outputSize[0], outputSize[1])
        return Plan(
            input: plan, output: output, planes: samples * channels,
            transformedShape: perSample ? [samples, 16, channels, tiles] : [16, channels, samples * tiles],
            outputShape: [samples, channels] + outputSize)
    }
}
