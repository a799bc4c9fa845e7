import CRucksackKernels

extension Tensor {
    /// A 2-D convolution (PyTorch's cross-correlation) with r×r kernels, r = 3 or 5, stride 1 and
    /// zero padding, by Winograd's minimal filtering (Lavin and Gray, 2016): F(2×2, r×r), (r + 1)²
    /// multiplications for each 2×2 output tile instead of 4r², and for 3×3 kernels and outputs
    /// from about 7×7 on F(4×4, 3×3), 36 for each 4×4 tile instead of 144; about 2.25 (F(2×2,
    /// 3×3)), 2.8 (5×5) or 4 (F(4×4, 3×3)) times fewer operations than unfolding and one matrix
    /// product, and no unfolded input.
    ///
    /// `self` is `[N, C, H, W]` and `kernels` `[K, C, r, r]`; the result is
    /// `[N, K, H + paddingBefore[0] + paddingAfter[0] − r + 1, W + …]`. With `adjoint`, the result
    /// is instead the transposed product of the convolution with these kernels and padding: `self`
    /// is then the stack `[N, K, H', W']` its outputs are shaped like, the result `[N, C, …]`
    /// the input-shaped one (a correlation with the kernels turned by 180 degrees and padding
    /// `r − 1 − p`, so each padding must be at most r − 1).
    ///
    /// The transforms add and subtract a few inputs (for 5×5 kernels and 4×4 tiles scaled by
    /// integers up to 8 and by fractions down to 1/24), so in `Float` results differ from those
    /// of a direct convolution by some units in the last place of the largest terms summed, more
    /// for those than for F(2×2, 3×3) (the tests bound the error at relative 1e-4). The result
    /// does not depend on the number of threads.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradConvolution(
        kernels: Tensor, paddingBefore: [Int], paddingAfter: [Int], adjoint: Bool = false,
        backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = adjoint ? "Winograd transposed convolution" : "Winograd convolution"
        guard rank == 4, kernels.rank == 4, Self.winogradKernelSizes.contains(kernels.shape[2]), kernels.shape[3] == kernels.shape[2],
              shape[1] == kernels.shape[adjoint ? 0 : 1] else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: kernels.shape)
        }
        let r = kernels.shape[2]
        let given = try Self.winogradPadding(paddingBefore, paddingAfter, atMost: adjoint ? r - 1 : nil, operation: operation)
        let (inChannels, outChannels) = adjoint ? (kernels.shape[0], kernels.shape[1]) : (kernels.shape[1], kernels.shape[0])
        let pad = adjoint ? given.map { r - 1 - $0 } : given
        let size = winogradOutputSize(kernelSize: r, padding: pad)
        guard size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "input \(shape) with padding \(paddingBefore), \(paddingAfter) is smaller than the \(r)×\(r) kernel")
        }
        let samples = shape[0]
        guard samples > 0, inChannels > 0, outChannels > 0 else {
            return try Tensor(zeros: [samples, outChannels] + size)
        }
        let tile = WinogradTiling.outputTile(kernelSize: r, outputSize: size)
        let tiles = WinogradTiling.tiles(outputSize: size, tile: tile)
        let filter = try Self.winogradFilter(kernels, adjoint: adjoint, tile: tile, threads: backend.threads)
        let step = try Self.winogradChunk(transforms: (tile + r - 1) * (tile + r - 1), tiles: tiles, channels: Swift.max(inChannels, outChannels), operation: operation)
        // Each chunk of samples is read where it lies and its output written to its place.
        let outputShape = [samples, outChannels] + size
        let count = try MemoryBudget.check(outputShape, of: Scalar.self, operation: operation)
        let result = try [Scalar](unsafeUninitializedCapacity: count) { target, initialized in
            let output = UnsafeSendablePointer(target.baseAddress)
            for start in stride(from: 0, to: samples, by: step) {
                let range = start..<Swift.min(samples, start + step)
                let tiling = WinogradTiling(
                    kernelSize: r, tile: tile, inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: false)
                let transformed = try winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads, firstSample: start)
                let products = try filter.matmul(transformed, backend: backend)
                products.winogradTransform(
                    .output, plan: tiling.plan(channels: outChannels), threads: backend.threads, firstSample: 0,
                    into: UnsafeSendablePointer(output.pointer + start * (count / samples)))
            }
            initialized = count
        }
        return Tensor(unchecked: outputShape, scalars: result)
    }

    /// The gradient of a loss w.r.t. the `kernelSize`×`kernelSize` kernels of
    /// ``winogradConvolution(kernels:paddingBefore:paddingAfter:adjoint:backend:)`` (not `adjoint`)
    /// of this input `[N, C, H, W]`, given its gradient w.r.t. the output `[N, K, H', W']`:
    /// `[K, C, r, r]`, summed over the samples. The same algorithm backwards: the (r + 1)²
    /// products of the transformed output gradient with the transformed input, each summed over
    /// all tiles of all samples, then the adjoint of the kernel transform; about 2.25 (3×3) or
    /// 2.8 (5×5) times fewer operations than the product with the unfolded input.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradKernelGradient(
        outputGradient: Tensor, kernelSize: Int, paddingBefore: [Int], paddingAfter: [Int], backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "Winograd kernel gradient"
        let r = try Self.winogradKernelSize(kernelSize, operation: operation)
        let pad = try Self.winogradPadding(paddingBefore, paddingAfter, operation: operation)
        let size = winogradOutputSize(kernelSize: r, padding: pad)
        guard rank == 4, outputGradient.rank == 4, outputGradient.shape[0] == shape[0],
              Array(outputGradient.shape.dropFirst(2)) == size, size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: outputGradient.shape)
        }
        let (samples, inChannels, outChannels) = (shape[0], shape[1], outputGradient.shape[1])
        let tiles = WinogradTiling.tiles(outputSize: size, tile: 2)
        var products = try Tensor(zeros: [(r + 1) * (r + 1), outChannels, inChannels])
        if samples > 0, inChannels > 0, outChannels > 0 {
            let step = try Self.winogradChunk(transforms: (r + 1) * (r + 1), tiles: tiles, channels: Swift.max(inChannels, outChannels), operation: operation)
            for start in stride(from: 0, to: samples, by: step) {
                let range = start..<Swift.min(samples, start + step)
                let tiling = WinogradTiling(
                    kernelSize: r, tile: 2, inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: false)
                let input = try winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads, firstSample: start)
                let gradient = try outputGradient.winogradTransform(
                    .outputAdjoint, plan: tiling.plan(channels: outChannels), threads: backend.threads, firstSample: start)
                let part = try gradient.matmul(input, transposingOther: true, backend: backend)
                products = start == 0 ? part : try products + part
            }
        }
        return try Self.winogradKernelsAdjoint(products, kernelSize: r, leading: [], backend: backend)
    }

    /// Per-sample gradients w.r.t. the kernels, as ``winogradKernelGradient(outputGradient:kernelSize:paddingBefore:paddingAfter:backend:)``
    /// for each sample and each of a stack of output gradients: `outputGradients` `[V, N, K, H', W']`
    /// gives `[V, N, K, C, r, r]`. Each is made of (r + 1)² products summed over the tiles of its
    /// sample alone.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func winogradPerSampleKernelGradients(
        outputGradients: Tensor, kernelSize: Int, paddingBefore: [Int], paddingAfter: [Int], backend: MatrixBackend = .current
    ) throws -> Tensor {
        let operation = "Winograd per-sample kernel gradients"
        let r = try Self.winogradKernelSize(kernelSize, operation: operation)
        let pad = try Self.winogradPadding(paddingBefore, paddingAfter, operation: operation)
        let size = winogradOutputSize(kernelSize: r, padding: pad)
        guard rank == 4, outputGradients.rank == 5, outputGradients.shape[1] == shape[0],
              Array(outputGradients.shape.dropFirst(3)) == size, size.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: outputGradients.shape)
        }
        let (stack, samples, inChannels, outChannels) = (outputGradients.shape[0], shape[0], shape[1], outputGradients.shape[2])
        let resultShape = [stack, samples, outChannels, inChannels, r, r]
        let transforms = (r + 1) * (r + 1)
        guard stack > 0, samples > 0, inChannels > 0, outChannels > 0 else { return try Tensor(zeros: resultShape) }
        try MemoryBudget.check(resultShape, of: Scalar.self, operation: operation)
        let tiles = WinogradTiling.tiles(outputSize: size, tile: 2)
        let step = try Self.winogradChunk(transforms: transforms, tiles: tiles, channels: Swift.max(inChannels, outChannels), stack: stack, operation: operation)
        var parts: [Tensor] = []
        for start in stride(from: 0, to: samples, by: step) {
            let range = start..<Swift.min(samples, start + step)
            let tiling = WinogradTiling(
                kernelSize: r, tile: 2, inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: range.count, perSample: true)
            let input = try winogradTransform(.input, plan: tiling.plan(channels: inChannels), threads: backend.threads, firstSample: start)
            let stackTiling = WinogradTiling(
                kernelSize: r, tile: 2, inputSize: [shape[2], shape[3]], padding: pad, outputSize: size, samples: stack * range.count, perSample: true)
            let gradients = try outputGradients.sliced(axis: 1, range: range).flattened(from: 0, to: 1)
                .winogradTransform(.outputAdjoint, plan: stackTiling.plan(channels: outChannels), threads: backend.threads)
            // [V, n·t², K, T] times each sample's [n·t², C, T], transposed, shared along V.
            let products = try gradients.reshaped([stack, range.count * transforms, outChannels, tiles])
                .matmul(input.reshaped([range.count * transforms, inChannels, tiles]), transposingOther: true, backend: backend)
            parts.append(try Self.winogradKernelsAdjoint(
                products.reshaped([stack * range.count, transforms, outChannels, inChannels]), kernelSize: r, leading: [stack, range.count], backend: backend))
        }
        return parts.count == 1 ? parts[0] : try Tensor.concatenated(parts, axis: 1)
    }

    /// The adjoint of the kernel transform on gradients of the (r + 1)² kernel matrices:
    /// `[*, (r + 1)², K, C]` (or `[(r + 1)², K, C]`) to `[*leading, K, C, r, r]`.
    private static func winogradKernelsAdjoint(_ products: Tensor, kernelSize r: Int, leading: [Int], backend: MatrixBackend) throws -> Tensor {
        let (outChannels, inChannels) = (products.shape[products.rank - 2], products.shape[products.rank - 1])
        let block = (r + 1) * (r + 1) * outChannels * inChannels, kernels = outChannels * inChannels * r * r
        let sets = products.count / Swift.max(block, 1)
        let count = sets * kernels
        let result = products.scalars.withUnsafeBufferPointer { du in
            [Scalar](unsafeUninitializedCapacity: count) { dw, initialized in
                let (du, dw) = (UnsafeSendablePointer(du.baseAddress), UnsafeSendablePointer(dw.baseAddress))
                let threads = threadsFor(elements: products.count, units: sets, threads: backend.threads)
                forEachSlice(of: sets, parts: threads) { _, slice in
                    for set in slice {
                        if Scalar.self == Float.self {
                            rk_s_winograd_filter_adjoint(du.cast(Float.self) + set * block, outChannels, inChannels, Int32(r), dw.cast(Float.self) + set * kernels)
                        } else {
                            rk_d_winograd_filter_adjoint(du.cast(Double.self) + set * block, outChannels, inChannels, Int32(r), dw.cast(Double.self) + set * kernels)
                        }
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: leading + [outChannels, inChannels, r, r], scalars: result)
    }

    /// The kernel sizes, r for r×r kernels, that the Winograd convolutions here serve.
    public static var winogradKernelSizes: Set<Int> { [3, 5] }

    /// `kernelSize`, checked to be one of ``winogradKernelSizes``.
    private static func winogradKernelSize(_ kernelSize: Int, operation: String) throws -> Int {
        guard winogradKernelSizes.contains(kernelSize) else {
            throw TensorError.invalidArgument(operation: operation, reason: "kernel size \(kernelSize) is neither 3 nor 5")
        }
        return kernelSize
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

    /// The spatial output size of an r×r correlation of this `[N, C, H, W]` tensor with padding
    /// (top, left, bottom, right); empty for another rank.
    private func winogradOutputSize(kernelSize r: Int, padding pad: [Int]) -> [Int] {
        rank == 4 ? [shape[2] + pad[0] + pad[2] - r + 1, shape[3] + pad[1] + pad[3] - r + 1] : []
    }

    /// Samples per chunk, so that the transformed stacks (`transforms` = t² values per tile of the
    /// larger channel count, for each of `stack` vectors) stay near 2²⁰ elements (4 MiB in Float), one
    /// sample at least: the transformed input and the products then stay in the cache between
    /// the transforms and the products (`fmnist_2c2d`'s gradient: 1.2 to 1.35 times faster than 2²⁴).
    private static func winogradChunk(transforms: Int, tiles: Int, channels: Int, stack: Int = 1, operation: String) throws -> Int {
        let perSample = try [transforms, tiles, channels, stack].reduce(1, CheckedArithmetic(operation).product)
        return Swift.max(1, (1 << 20) / perSample)
    }

    /// The t² kernel matrices `[t², K, C]` (with `adjoint`, `[t², C, K]`) of `kernels`
    /// `[K, C, r, r]` for output tiles of `tile` (t = tile + r − 1).
    private static func winogradFilter(_ kernels: Tensor, adjoint: Bool, tile: Int, threads: Int) throws -> Tensor {
        let (k, c, r) = (kernels.shape[0], kernels.shape[1], kernels.shape[2])
        let shape = [(tile + r - 1) * (tile + r - 1)] + (adjoint ? [c, k] : [k, c])
        let count = try MemoryBudget.check(shape, of: Scalar.self, operation: "Winograd kernels")
        // Each kernel costs a few hundred operations: from 2¹⁶ entries on, the threads share the
        // output channels (in the steps of a network, the transforms are otherwise serial).
        let parts = Swift.min(threads, k, Swift.max(1, count >> 16))
        let result = kernels.scalars.withUnsafeBufferPointer { w in
            [Scalar](unsafeUninitializedCapacity: count) { u, initialized in
                let (w, u) = (UnsafeSendablePointer(w.baseAddress), UnsafeSendablePointer(u.baseAddress))
                forEachSlice(of: k, parts: parts) { _, channels in
                    let (first, last) = (channels.lowerBound, channels.upperBound)
                    if Scalar.self == Float.self {
                        rk_s_winograd_filter(w.cast(Float.self), k, c, first, last, Int32(r), Int32(tile), adjoint ? 1 : 0, u.cast(Float.self))
                    } else {
                        rk_d_winograd_filter(w.cast(Double.self), k, c, first, last, Int32(r), Int32(tile), adjoint ? 1 : 0, u.cast(Double.self))
                    }
                }
                initialized = count
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// The three transforms over the planes of a stack of samples.
    private enum WinogradTransform {
        /// `[n, C, H, W]` to the t² matrices `[t², C, n · tiles]` (t = r + 1).
        case input
        /// Products `[t², K, n · tiles]` to the output `[n, K, H', W']`.
        case output
        /// An output gradient `[n, K, H', W']` to `[t², K, n · tiles]`, the adjoint of `output`.
        case outputAdjoint
    }

    /// One thread's part of `transform`: planes `planes` of `x` into `y`, with its own scratch.
    private static func runWinograd(
        _ transform: WinogradTransform, plan p: UnsafeMutablePointer<rk_winograd_plan>, planes: Range<Int>,
        x: UnsafeSendablePointer<Scalar>, y: UnsafeSendablePointer<Scalar>, scratch: UnsafeSendablePointer<Scalar>
    ) {
        let (first, last) = (planes.lowerBound, planes.upperBound)
        if Scalar.self == Float.self {
            let (x, y, s) = (x.cast(Float.self), y.cast(Float.self), scratch.cast(Float.self))
            switch transform {
            case .input: rk_s_winograd_input(p, first, last, x, y, s)
            case .output: rk_s_winograd_output(p, first, last, x, y, s)
            case .outputAdjoint: rk_s_winograd_output_adjoint(p, first, last, x, y, s)
            }
        } else {
            let (x, y, s) = (x.cast(Double.self), y.cast(Double.self), scratch.cast(Double.self))
            switch transform {
            case .input: rk_d_winograd_input(p, first, last, x, y, s)
            case .output: rk_d_winograd_output(p, first, last, x, y, s)
            case .outputAdjoint: rk_d_winograd_output_adjoint(p, first, last, x, y, s)
            }
        }
    }

    /// `transform` of `plan` applied to `self` from sample `firstSample` on (as many samples as
    /// the plan has; the input and the output adjoint read a stack of samples, the output the
    /// whole product matrices), a thread per part of the planes when there is enough work.
    /// Reading at an offset spares the copy of a slice.
    private func winogradTransform(_ transform: WinogradTransform, plan: WinogradTiling.Plan, threads: Int, firstSample: Int = 0) throws -> Tensor {
        let outputShape = transform == .output ? plan.outputShape : plan.transformedShape
        let count = try MemoryBudget.check(outputShape, of: Scalar.self, operation: "Winograd transform")
        let result = [Scalar](unsafeUninitializedCapacity: count) { target, initialized in
            winogradTransform(transform, plan: plan, threads: threads, firstSample: firstSample, into: UnsafeSendablePointer(target.baseAddress))
            initialized = count
        }
        return Tensor(unchecked: outputShape, scalars: result)
    }

    /// The same, written to `target`: the output transform of a chunk of samples straight into
    /// its place in the whole output.
    private func winogradTransform(
        _ transform: WinogradTransform, plan: WinogradTiling.Plan, threads: Int, firstSample: Int, into target: UnsafeSendablePointer<Scalar>
    ) {
        let sampleSize = transform == .output ? 0 : count / Swift.max(1, shape[0])
        let (outputCount, planes) = ((transform == .output ? plan.outputShape : plan.transformedShape).reduce(1, *), plan.planes)
        let plan = transform == .input ? plan.input : plan.output
        scalars.withUnsafeBufferPointer { source in
            let x = UnsafeSendablePointer(source.baseAddress.map { $0 + firstSample * sampleSize })
            withUnsafePointer(to: plan) { plan in
                let shared = UnsafeSendablePointer(plan)
                let scratchCount = rk_winograd_scratch(plan)
                let read = transform == .output ? count : planes * (count / Swift.max(1, shape[0] * shape[1]))
                let threads = threadsFor(elements: Swift.max(outputCount, read), units: planes, threads: threads)
                forEachSlice(of: planes, parts: threads) { _, slice in
                    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: scratchCount) { (scratch: UnsafeMutableBufferPointer<Scalar>) -> Void in
                        Self.runWinograd(transform, plan: shared.pointer, planes: slice, x: x, y: target, scratch: UnsafeSendablePointer(scratch.baseAddress))
                    }
                }
            }
        }
    }
}

/// How a convolution's input or output splits into Winograd tiles of an r×r kernel with m×m
/// outputs (m = `tile`), for `samples` samples, and how their transforms are laid out: as t²
/// matrices `[channels, samples · tiles]` (t = m + r − 1), or with `perSample` as t² matrices
/// `[channels, tiles]` for each sample.
struct WinogradTiling {
    let kernelSize: Int, tile: Int, inputSize: [Int], padding: [Int], outputSize: [Int], samples: Int, perSample: Bool

    var tilesHigh: Int { (outputSize[0] + tile - 1) / tile }
    var tilesWide: Int { (outputSize[1] + tile - 1) / tile }
    var tiles: Int { Self.tiles(outputSize: outputSize, tile: tile) }

    /// The m×m output tiles of one plane of an output `[H', W']`.
    static func tiles(outputSize: [Int], tile m: Int) -> Int { (outputSize[0] + m - 1) / m * ((outputSize[1] + m - 1) / m) }

    /// The output tile for r×r kernels and an output `[H', W']`: 4×4 (F(4×4, 3×3), 36 products
    /// for 16 outputs) for 3×3 kernels where that needs at most 3/4 of the products of 2×2 tiles
    /// (16 for 4 outputs), so from about 7×7 outputs on; 2×2 otherwise. The larger tiles' six
    /// points scale some terms by up to 8 and 1/24, as F(2×2, 5×5)'s do.
    static func outputTile(kernelSize r: Int, outputSize: [Int]) -> Int {
        guard r == 3 else { return 2 }
        return 36 * tiles(outputSize: outputSize, tile: 4) * 4 <= 16 * tiles(outputSize: outputSize, tile: 2) * 3 ? 4 : 2
    }

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
        let transforms = (tile + kernelSize - 1) * (tile + kernelSize - 1)
        let (sampleStride, channelStride, matrixStride) = perSample
            ? (transforms * channels * tiles, tiles, channels * tiles)
            : (tiles, samples * tiles, channels * samples * tiles)
        let plan = rk_winograd_plan(
            kernelSize: kernelSize, tile: tile, channels: channels, height: inputSize[0], width: inputSize[1], padTop: padding[0], padLeft: padding[1],
            tilesHigh: tilesHigh, tilesWide: tilesWide, sampleStride: sampleStride, channelStride: channelStride, matrixStride: matrixStride)
        var output = plan
        (output.height, output.width) = (outputSize[0], outputSize[1])
        return Plan(
            input: plan, output: output, planes: samples * channels,
            transformedShape: perSample ? [samples, transforms, channels, tiles] : [transforms, channels, samples * tiles],
            outputShape: [samples, channels] + outputSize)
    }
}
