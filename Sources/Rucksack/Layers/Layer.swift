/// What the forward pass of a layer leaves for the backward pass: its input and output, and
/// whatever else the layer chose to keep (max pooling keeps its window maxima).
///
/// It is a value returned by ``Layer/forward(_:)``; nothing is stored on the layer.
public struct LayerIO<Scalar: TensorScalar>: Sendable {
    public var input: Tensor<Scalar>
    public var output: Tensor<Scalar>
    /// Layer-specific results of the forward pass that the products may reuse.
    public var saved: (any Sendable)?

    public init(input: Tensor<Scalar>, output: Tensor<Scalar>, saved: (any Sendable)? = nil) {
        self.input = input
        self.output = output
        self.saved = saved
    }

    /// The batch size `N` (the input's first extent).
    public var batchSize: Int { input.shape.first ?? 0 }
}

/// How the output depends on the input to second order, as BackPACK's `hessian_is_zero` and
/// `hessian_is_diagonal` flags say it.
public enum InputHessianStructure: Sendable {
    /// Affine or piecewise linear: `∂²y/∂x² = 0`.
    case zero
    /// Element-wise: only `∂²yᵢ/∂xᵢ²` is non-zero.
    case diagonal
}

/// A neural-network module with PyTorch semantics, and the derivative products every quantity is
/// assembled from.
///
/// All products act on stacks of `V` vectors per sample and keep the sample axis: a tensor
/// `[V, N, *shape]`. Conformers implement the forward map and the products; parameter-free
/// layers get the parameter products from a default that throws.
public protocol Layer<Scalar>: Sendable {
    associatedtype Scalar: TensorScalar

    /// The `torch.nn` class name, e.g. `Conv2d`.
    var typeName: String { get }

    /// Local parameter names in PyTorch's order (`weight`, `bias`).
    var parameterNames: [String] { get }

    /// The parameter called `name`.
    func parameter(_ name: String) throws -> Tensor<Scalar>

    /// Replaces the parameter called `name`; throws when the shape differs.
    mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws

    /// Local names of state that is not trained (`running_mean`, …), in PyTorch's order.
    var bufferNames: [String] { get }

    /// The buffer called `name`, in its file data type.
    func buffer(_ name: String) throws -> ArrayData

    /// Replaces the buffer called `name`; throws when its shape or type does not fit.
    mutating func setBuffer(_ name: String, to value: ArrayData) throws

    /// The output for a batch `[N, *in]`.
    func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar>

    /// The output together with what the products need (by default, input and output).
    func forward(_ input: Tensor<Scalar>) throws -> LayerIO<Scalar>

    /// `J · m`: `[V, N, *in] → [V, N, *out]`.
    func jacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// `Jᵀ · m`: `[V, N, *out] → [V, N, *in]`.
    func transposedJacobianProduct(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// `J_θ · m` for the parameter `name`: `[V, *θ] → [V, N, *out]`.
    func parameterJacobianProduct(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// `J_θᵀ · m` for the parameter `name`: `[V, M, *out] → [V, *θ]` summed over samples, or
    /// `[V, M, *θ]` per sample. With `subsampling`, `m` holds the samples at those batch indices
    /// (in that order, duplicates allowed) and `M` is their count; otherwise `M = N`.
    func transposedParameterJacobianProduct(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Scalar>

    /// `Σᵥ Σₙ (J_θᵀ mᵥₙ)²` for a stack `m: [V, N, *out]` (the squares of every column's
    /// per-sample parameter gradients, summed), shaped like the parameter, or with `perSample`
    /// `Σᵥ (J_θᵀ mᵥₙ)²` for every sample, `[N, *θ]`: what the GGN and Hessian diagonals read
    /// out. `nil` (the default) where the layer has no way cheaper than forming the per-sample
    /// gradients with ``transposedParameterJacobianProduct(_:parameter:io:sumOverSamples:subsampling:)``.
    func summedSquaredParameterGradients(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, perSample: Bool) throws -> Tensor<Scalar>?

    /// Whether the second input derivative vanishes or is diagonal.
    var inputHessianStructure: InputHessianStructure { get }

    /// The residual diagonal `f''(x) ⊙ δ` for the gradient `δ` w.r.t. the output
    /// (`[N, *out]`); zero for layers whose input Hessian vanishes.
    func residualDiagonal(outputGradient: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// `(1/N) Σₙ Jₙᵀ M Jₙ` for a symmetric `M: [D_out, D_out]` (features per sample), `[D_in, D_in]`:
    /// the batch-averaged sandwich that KFRA and Hessian backpropagation propagate.
    func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// `J̄ᵀ M J̄` with the batch-averaged Jacobian `J̄ = (1/N) Σₙ Jₙ`, `[D_in, D_in]`: Hessian
    /// backpropagation's cheaper rule, averaging the Jacobian before sandwiching (bpexts'
    /// `average_input_jacobian`).
    func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar>

    /// How `Jᵀ δ` and the summed `J_θᵀ δ` change to first order when the input moves by
    /// `inputTangent` (`[N, *in]`, `nil` for zero) and the parameters by `parameterTangents`
    /// (absent for zero), with `δ` (`[N, *out]`) held fixed: what whole-network Hessian–vector
    /// products need beyond the Jacobians. Parameterised layers are affine in each parameter
    /// tensor on its own; the exact block products rely on it.
    func gradientTangentTerms(
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?, parameterTangents: [String: Tensor<Scalar>], io: LayerIO<Scalar>
    ) throws -> GradientTangentTerms<Scalar>
}

extension Layer {
    /// Runs the layer and keeps what its products need.
    public func forward(_ input: Tensor<Scalar>) throws -> LayerIO<Scalar> {
        LayerIO(input: input, output: try self(input))
    }

    public var parameterNames: [String] { [] }

    public func parameter(_ name: String) throws -> Tensor<Scalar> {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public func parameterJacobianProduct(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public var bufferNames: [String] { [] }

    public func buffer(_ name: String) throws -> ArrayData {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public mutating func setBuffer(_ name: String, to value: ArrayData) throws {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public func transposedParameterJacobianProduct(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        throw LayerError.unknownParameter(layer: typeName, name: name)
    }

    public func summedSquaredParameterGradients(_ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, perSample: Bool) throws -> Tensor<Scalar>? {
        nil
    }

    public var inputHessianStructure: InputHessianStructure { .zero }

    public func residualDiagonal(outputGradient: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try Tensor(zeros: io.input.shape)
    }

    /// The sandwich from two rounds of transposed Jacobian products, `D_out` columns per sample.
    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try BatchAveragedSandwich.byTransposedProducts(m, outputShape: io.output.shape, operation: "\(typeName) sandwich") {
            try transposedJacobianProduct($0, io: io)
        }
    }

    /// The averaged-Jacobian sandwich from two rounds of transposed Jacobian products averaged over the samples.
    public func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try BatchAveragedSandwich.ofAveragedJacobian(m, outputShape: io.output.shape, operation: "\(typeName) averaged-Jacobian sandwich") {
            try transposedJacobianProduct($0, io: io)
        }
    }

    /// `M` itself, for layers whose Jacobian is the identity on the flattened features.
    func identitySandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try checkSandwich(m, features: io.input)
        return m
    }

    /// Throws unless `m` is `[D, D]` for the `D` features of one sample of `tensor`; returns `D`.
    @discardableResult
    func checkSandwich(_ m: Tensor<Scalar>, features tensor: Tensor<Scalar>) throws -> Int {
        let features = tensor.count / Swift.max(tensor.shape.first ?? 1, 1)
        guard m.shape == [features, features] else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "batch-averaged sandwich", expected: [features, features], got: m.shape)
        }
        return features
    }

    /// Throws unless `m` stacks tensors shaped like the parameter `name`: `[V, *θ]`.
    func checkParameterStack(_ m: Tensor<Scalar>, parameter name: String) throws {
        let shape = try parameter(name).shape
        guard m.rank == shape.count + 1, Array(m.shape.dropFirst()) == shape else {
            throw LayerError.shapeMismatch(layer: typeName, operation: "\(name) Jacobian product", expected: [-1] + shape, got: m.shape)
        }
    }

    /// Checks the arguments of a transposed parameter-Jacobian product; returns the parameter's
    /// shape and the (sub-sampled) input whose samples `m` stacks.
    func transposedParameterProductArguments(
        _ m: Tensor<Scalar>, parameter name: String, io: LayerIO<Scalar>, subsampling: [Int]?
    ) throws -> (shape: [Int], input: Tensor<Scalar>) {
        let shape = try parameter(name).shape
        let input = try io.input.samples(subsampling)
        try checkStack(m, samples: input.shape[0], sampleShape: Array(io.output.shape.dropFirst()), operation: "\(name) transposed Jacobian product")
        return (shape, input)
    }

    /// Throws unless `m` is a stack `[V, N', *shape]` with the given sample shape.
    func checkStack(_ m: Tensor<Scalar>, samples: Int, sampleShape: [Int], operation: String) throws {
        guard m.rank == sampleShape.count + 2, m.shape[1] == samples, Array(m.shape.dropFirst(2)) == sampleShape else {
            throw LayerError.shapeMismatch(
                layer: typeName, operation: operation, expected: [-1, samples] + sampleShape, got: m.shape)
        }
    }
}

/// Errors that name the layer and what is wrong with its use.
public enum LayerError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownParameter(layer: String, name: String)
    /// A tensor of the wrong shape; `-1` in `expected` stands for any extent.
    case shapeMismatch(layer: String, operation: String, expected: [Int], got: [Int])
    case invalidHyperparameter(layer: String, name: String, reason: String)
    /// A derivative product the layer cannot provide, such as per-sample gradients of a
    /// parameter that couples the samples; quantities that need it are refused by name.
    case productUnavailable(layer: String, product: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownParameter(layer, name): "\(layer) has no parameter '\(name)'"
        case let .shapeMismatch(layer, operation, expected, got):
            "\(layer) \(operation): expected shape \(expected) (-1 = any), got \(got)"
        case let .invalidHyperparameter(layer, name, reason): "\(layer): \(name) \(reason)"
        case let .productUnavailable(layer, product, reason): "\(layer) cannot provide \(product): \(reason)"
        }
    }
}

/// A layer whose output is affine in its input (a linear layer, a convolution, average pooling,
/// padding, batch normalization in evaluation mode), so that its Jacobian is the same for every
/// sample.
public protocol AffineInInput<Scalar>: Layer {}

extension AffineInInput {
    /// `Jᵀ M J` from the first sample's products alone, `N` times cheaper than the general two
    /// rounds.
    public func batchAveragedSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        let first = LayerIO(input: try io.input.sliced(axis: 0, range: 0..<Swift.min(1, io.batchSize)),
                            output: try io.output.sliced(axis: 0, range: 0..<Swift.min(1, io.batchSize)))
        return try BatchAveragedSandwich.byTransposedProducts(m, outputShape: first.output.shape, operation: "\(typeName) sandwich") {
            try transposedJacobianProduct($0, io: first)
        }
    }

    /// Every sample has the same Jacobian, so averaging it first changes nothing.
    public func averagedJacobianSandwich(_ m: Tensor<Scalar>, io: LayerIO<Scalar>) throws -> Tensor<Scalar> {
        try batchAveragedSandwich(m, io: io)
    }
}
