/// Window hyper-parameters shared by max and average pooling, with PyTorch's output-size rules.
public struct PoolingWindow: Sendable, Equatable {
    public var kernelSize: [Int]
    public var stride: [Int]
    public var padding: [Int]
    public var dilation: [Int]
    public var ceilMode: Bool

    /// A window; `stride` defaults to the kernel size, as in PyTorch.
    public init(kernelSize: [Int], stride: [Int]? = nil, padding: [Int]? = nil, dilation: [Int]? = nil, ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding ?? kernelSize.map { _ in 0 }
        self.dilation = dilation ?? kernelSize.map { _ in 1 }
        self.ceilMode = ceilMode
    }

    public var spatialRank: Int { kernelSize.count }

    /// Throws unless the values are ones PyTorch accepts (padding at most half the kernel).
    func validate(layer: String) throws {
        let r = spatialRank
        guard (1...3).contains(r), [stride, padding, dilation].allSatisfy({ $0.count == r }) else {
            throw LayerError.invalidHyperparameter(layer: layer, name: "kernel_size", reason: "needs 1 to 3 axes matching stride, padding and dilation")
        }
        guard kernelSize.allSatisfy({ $0 > 0 }), stride.allSatisfy({ $0 > 0 }), dilation.allSatisfy({ $0 > 0 }) else {
            throw LayerError.invalidHyperparameter(layer: layer, name: "kernel_size/stride/dilation", reason: "must be positive")
        }
        for axis in 0..<r where padding[axis] < 0 || padding[axis] > kernelSize[axis] / 2 {
            throw LayerError.invalidHyperparameter(
                layer: layer, name: "padding", reason: "\(padding) must be between 0 and half the kernel size \(kernelSize)")
        }
    }

    /// The output extent per axis (PyTorch's pooling formula, including `ceil_mode`).
    func outputSize(inputSize: [Int]) throws -> [Int] {
        let c = CheckedArithmetic("pooling output size")
        return try (0..<spatialRank).map { axis in
            let span = try c.sum(c.product(dilation[axis], kernelSize[axis] - 1), 1)
            let room = try c.difference(c.sum(inputSize[axis], c.product(2, padding[axis])), span)
            guard room >= 0 else { return 0 }
            let s = stride[axis]
            var out = room / s + (ceilMode && room % s != 0 ? 1 : 0) + 1
            // A last window that would start in the right padding is dropped.
            if try ceilMode && c.product(out - 1, s) >= c.sum(inputSize[axis], padding[axis]) { out -= 1 }
            return out
        }
    }

    /// The convolution geometry whose windows are the pooling windows; `ceil_mode` becomes
    /// extra padding after each axis.
    func geometry(inputSize: [Int]) throws -> ConvolutionGeometry {
        let out = try outputSize(inputSize: inputSize)
        let c = CheckedArithmetic("pooling geometry")
        let after = try (0..<spatialRank).map { axis -> Int in
            let lastWindowEnd = try c.sum(c.product(out[axis] - 1, stride[axis]), c.sum(c.product(dilation[axis], kernelSize[axis] - 1), 1))
            return Swift.max(padding[axis], lastWindowEnd - inputSize[axis] - padding[axis])
        }
        return try ConvolutionGeometry(kernelSize: kernelSize, stride: stride, padding: padding, paddingAfter: after, dilation: dilation)
    }
}

extension Layer {
    /// `[N, C, *S]` as `[N·C, 1, *S]`: pooling treats every channel of every sample alike.
    func planes(_ x: Tensor<Scalar>, spatialRank: Int) throws -> Tensor<Scalar> {
        guard x.rank == spatialRank + 2 else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "input", expected: [-1, -1] + [Int](repeating: -1, count: spatialRank), got: x.shape)
        }
        return try x.reshaped([x.shape[0] * x.shape[1], 1] + Array(x.shape.dropFirst(2)))
    }
}
