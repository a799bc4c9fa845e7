/// The hyper-parameters of a 1-, 2- or 3-D convolution or transposed convolution, with PyTorch's
/// meaning, and the index maps that unfold (im2col) and fold (col2im) are built from.
public struct ConvolutionGeometry: Sendable, Equatable {
    /// Kernel extent per spatial axis (1 to 3 axes).
    public var kernelSize: [Int]
    public var stride: [Int]
    /// Implicit zero padding before each spatial axis.
    public var paddingBefore: [Int]
    /// Implicit zero padding after each spatial axis (differs from `paddingBefore` only for
    /// PyTorch's `padding="same"` with even effective kernels).
    public var paddingAfter: [Int]
    public var dilation: [Int]
    /// Channel groups; the channel count must be divisible by it.
    public var groups: Int
    /// Whether this is a transposed convolution (`ConvTransposeNd`).
    public var transposed: Bool
    /// Extra output size on the far side of each axis (transposed convolutions only).
    public var outputPadding: [Int]

    /// The number of spatial axes.
    public var spatialRank: Int { kernelSize.count }

    /// Creates a geometry; unspecified per-axis values take PyTorch's defaults (stride 1, padding 0,
    /// dilation 1, output padding 0).
    public init(
        kernelSize: [Int], stride: [Int]? = nil, padding: [Int]? = nil, paddingAfter: [Int]? = nil,
        dilation: [Int]? = nil, groups: Int = 1, transposed: Bool = false, outputPadding: [Int]? = nil
    ) throws {
        let operation = "convolution geometry"
        let rank = kernelSize.count
        guard (1...3).contains(rank) else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "kernel size \(kernelSize) must have 1 to 3 spatial axes")
        }
        func perAxis(_ values: [Int]?, _ name: String, default value: Int, minimum: Int) throws -> [Int] {
            let values = values ?? [Int](repeating: value, count: rank)
            guard values.count == rank, values.allSatisfy({ $0 >= minimum }) else {
                throw TensorError.invalidArgument(
                    operation: operation,
                    reason: "\(name) \(values) needs \(rank) values of at least \(minimum) for kernel_size \(kernelSize)")
            }
            return values
        }
        self.kernelSize = try perAxis(kernelSize, "kernel_size", default: 1, minimum: 1)
        self.stride = try perAxis(stride, "stride", default: 1, minimum: 1)
        paddingBefore = try perAxis(padding, "padding", default: 0, minimum: 0)
        self.paddingAfter = try perAxis(paddingAfter ?? paddingBefore, "padding (after)", default: 0, minimum: 0)
        self.dilation = try perAxis(dilation, "dilation", default: 1, minimum: 1)
        self.outputPadding = try perAxis(outputPadding, "output_padding", default: 0, minimum: 0)
        guard groups >= 1 else {
            throw TensorError.invalidArgument(operation: operation, reason: "groups must be positive, got \(groups)")
        }
        self.groups = groups
        self.transposed = transposed
        if transposed {
            guard paddingBefore == self.paddingAfter else {
                throw TensorError.invalidArgument(
                    operation: operation, reason: "transposed convolutions take symmetric padding, got \(paddingBefore) and \(self.paddingAfter)")
            }
            for axis in 0..<rank where self.outputPadding[axis] >= Swift.max(self.stride[axis], self.dilation[axis]) {
                throw TensorError.invalidArgument(
                    operation: operation,
                    reason: "output padding \(self.outputPadding) must be smaller than stride \(self.stride) or dilation \(self.dilation)")
            }
        } else if self.outputPadding.contains(where: { $0 != 0 }) {
            throw TensorError.invalidArgument(
                operation: operation, reason: "output padding applies to transposed convolutions only")
        }
    }

    /// The spatial output extents for spatial input extents `inputSize`.
    public func outputSize(inputSize: [Int]) throws -> [Int] {
        guard inputSize.count == spatialRank else {
            throw TensorError.shapeMismatch(operation: "convolution output size", lhs: inputSize, rhs: kernelSize)
        }
        let c = CheckedArithmetic("convolution output size")
        let sizes = try (0..<spatialRank).map { axis in
            let span = try c.product(dilation[axis], kernelSize[axis] - 1)
            if transposed {
                let stretched = try c.product(inputSize[axis] - 1, stride[axis])
                let padding = try c.sum(paddingBefore[axis], paddingAfter[axis])
                return try c.sum(c.sum(c.difference(stretched, padding), span), outputPadding[axis] + 1)
            }
            let padded = try c.sum(c.sum(inputSize[axis], paddingBefore[axis]), paddingAfter[axis])
            return padded > span ? (padded - span - 1) / stride[axis] + 1 : 0
        }
        guard sizes.allSatisfy({ $0 > 0 }) || inputSize.contains(0) else {
            throw TensorError.invalidArgument(
                operation: "convolution output size",
                reason: "input \(inputSize) is too small for kernel \(kernelSize) with dilation \(dilation) and padding \(paddingBefore)")
        }
        return sizes.map { Swift.max($0, 0) }
    }

    /// For each axis, `table[k * outputExtent + o]` is the input index that kernel tap `k` reads
    /// for output position `o`, or `-1` where it reads padding (or, for transposed
    /// convolutions, where no input position maps there).
    @usableFromInline
    func inputIndexTables(inputSize: [Int], outputSize: [Int]) -> [[Int]] {
        (0..<spatialRank).map { axis in
            let (s, d, p, input, output) = (stride[axis], dilation[axis], paddingBefore[axis], inputSize[axis], outputSize[axis])
            var table = [Int](repeating: -1, count: kernelSize[axis] * output)
            for k in 0..<kernelSize[axis] {
                for o in 0..<output {
                    if transposed {
                        let t = o + p - k * d
                        if t >= 0, t % s == 0, t / s < input { table[k * output + o] = t / s }
                    } else {
                        let i = o * s - p + k * d
                        if i >= 0, i < input { table[k * output + o] = i }
                    }
                }
            }
            return table
        }
    }
}
