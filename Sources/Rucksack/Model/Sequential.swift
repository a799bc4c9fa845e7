/// Layers applied one after another, as `torch.nn.Sequential`; parameters are named
/// `"<index>.<name>"` (`0.weight`, `2.bias`).
public struct Sequential<Scalar: TensorScalar>: Sendable {
    public var layers: [any Layer<Scalar>]

    public init(_ layers: [any Layer<Scalar>]) { self.layers = layers }

    /// What one forward pass through every layer leaves for the backward pass.
    public struct Trace: Sendable {
        /// Each layer's input and output, in order.
        public var records: [LayerIO<Scalar>]
        /// The model output.
        public var output: Tensor<Scalar>
    }

    /// The model output.
    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try forward(input).output
    }

    /// Runs every layer and keeps their inputs and outputs.
    public func forward(_ input: Tensor<Scalar>) throws -> Trace {
        var records: [LayerIO<Scalar>] = []
        var x = input
        for (index, layer) in layers.enumerated() {
            do {
                let io = try layer.forward(x)
                records.append(io)
                x = io.output
            } catch {
                throw ModelError.layerFailed(index: index, type: layer.typeName, underlying: String(describing: error))
            }
        }
        return Trace(records: records, output: x)
    }

    /// Every parameter's PyTorch name, in `state_dict` order.
    public var parameterNames: [String] {
        layers.enumerated().flatMap { index, layer in layer.parameterNames.map { "\(index).\($0)" } }
    }

    /// The parameter with a dotted name such as `0.weight`.
    public func parameter(_ name: String) throws -> Tensor<Scalar> {
        let (index, local) = try locate(name)
        return try layers[index].parameter(local)
    }

    /// Replaces the parameter with a dotted name; its shape must not change.
    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        let (index, local) = try locate(name)
        try layers[index].setParameter(local, to: value)
    }

    /// The loss and its gradient w.r.t. every parameter, by one backward pass.
    public func gradient(
        _ input: Tensor<Scalar>, _ target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> (loss: Scalar, gradients: [String: Tensor<Scalar>]) {
        let trace = try forward(input)
        let value = try loss.value(trace.output, target)
        var delta = try loss.gradient(trace.output, target).unsqueezed(at: 0)  // a stack of V = 1
        var gradients: [String: Tensor<Scalar>] = [:]
        for (index, layer) in layers.enumerated().reversed() {
            let io = trace.records[index]
            for name in layer.parameterNames {
                gradients["\(index).\(name)"] = try layer.transposedParameterJacobianProduct(
                    delta, parameter: name, io: io, sumOverSamples: true, subsampling: nil
                ).squeezed(at: 0)
            }
            if index > 0 { delta = try layer.transposedJacobianProduct(delta, io: io) }
        }
        return (value, gradients)
    }

    private func locate(_ name: String) throws -> (Int, String) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let index = Int(parts[0]), layers.indices.contains(index) else {
            throw ModelError.unknownParameter(name: name)
        }
        return (index, parts[1])
    }
}

/// Errors of models, naming the layer (index and type) or parameter concerned.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownParameter(name: String)
    case layerFailed(index: Int, type: String, underlying: String)

    public var description: String {
        switch self {
        case let .unknownParameter(name): "the model has no parameter '\(name)'"
        case let .layerFailed(index, type, underlying): "layer \(index) (\(type)): \(underlying)"
        }
    }
}
