/// `ConstantPadNd` and `ZeroPad2d`: pads (or, with negative widths, crops) the trailing axes
/// with a constant.
public struct ConstantPad<Scalar: TensorScalar>: AffineInInput {
    /// `(before, after)` for each padded trailing axis, outermost first.
    public let widths: [(before: Int, after: Int)]
    public let value: Scalar
    public let typeName: String

    /// Padding in PyTorch's order: two values per axis, **last axis first**
    /// (`[left, right, top, bottom, …]`), as `torch.nn.functional.pad` takes them.
    public init(torchPadding padding: [Int], value: Scalar = 0, typeName: String) throws {
        guard !padding.isEmpty, padding.count % 2 == 0 else {
            throw LayerError.invalidHyperparameter(layer: typeName, name: "padding", reason: "\(padding) needs two values per padded axis")
        }
        // The transposed product negates the widths.
        guard !padding.contains(Int.min) else {
            throw LayerError.invalidHyperparameter(layer: typeName, name: "padding", reason: "\(padding) holds a value too large to negate")
        }
        widths = stride(from: padding.count - 2, through: 0, by: -2).map { (before: padding[$0], after: padding[$0 + 1]) }
        self.value = value
        self.typeName = typeName
    }

    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard input.rank >= widths.count + 1 else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "input", expected: [-1] + widths.map { _ in -1 }, got: input.shape)
        }
        return try input.padded(widths, value: value)
    }

    public func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.input.shape.dropFirst()), operation: "Jacobian product")
        return try m.padded(widths)
    }

    /// The padded entries do not depend on the input: the transpose crops them away.
    public func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, samples: io.batchSize, sampleShape: Array(io.output.shape.dropFirst()), operation: "transposed Jacobian product")
        return try m.padded(widths.map { (before: -$0.before, after: -$0.after) })
    }
}
