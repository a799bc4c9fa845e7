/// A network: a tree of layers with PyTorch naming, its forward pass and the backward engine.
public struct Model<Scalar: TensorScalar>: Sendable {
    public var root: ModelNode<Scalar>

    /// A model from a node tree.
    public init(_ root: ModelNode<Scalar>) { self.root = root }

    /// A `torch.nn.Sequential` of layers.
    public init(sequential layers: [any Layer<Scalar>]) { root = .sequential(layers.map { .layer($0) }) }

    // MARK: Parameters

    /// Every parameter's PyTorch name, in `state_dict` order.
    public var parameterNames: [String] {
        root.layers().flatMap { path, layer in layer.parameterNames.map { path + $0 } }
    }

    /// The parameter with a dotted name such as `0.weight` or `2.0.1.bias`.
    public func parameter(_ name: String) throws -> Tensor<Scalar> {
        let (path, local) = try split(name)
        guard let entry = root.layers().first(where: { $0.path == path }) else { throw ModelError.unknownParameter(name: name) }
        return try entry.layer.parameter(local)
    }

    /// Replaces the parameter with a dotted name; its shape must not change.
    public mutating func setParameter(_ name: String, to value: Tensor<Scalar>) throws {
        let (path, local) = try split(name)
        let labels = path.split(separator: ".").map(String.init)
        do {
            try root.updateLayer(at: labels[...]) { try $0.setParameter(local, to: value) }
        } catch is ModelError {
            throw ModelError.unknownParameter(name: name)
        }
    }

    private func split(_ name: String) throws -> (path: String, local: String) {
        guard let dot = name.lastIndex(of: ".") else { throw ModelError.unknownParameter(name: name) }
        return (String(name[...dot]), String(name[name.index(after: dot)...]))
    }

    // MARK: Forward

    /// The model output.
    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try forward(input).output
    }

    /// Runs every layer and keeps their inputs and outputs.
    public func forward(_ input: Tensor<Scalar>) throws -> NodeTrace<Scalar> {
        try Self.forward(root, input, path: "")
    }

    private static func forward(_ node: ModelNode<Scalar>, _ x: Tensor<Scalar>, path: String) throws -> NodeTrace<Scalar> {
        switch node {
        case let .layer(layer):
            do {
                return .layer(try layer.forward(x))
            } catch {
                throw ModelError.layerFailed(path: String(path.dropLast()), type: layer.typeName, underlying: error)
            }
        case let .named(_, node):
            return try forward(node, x, path: path)
        case let .sequential(nodes):
            var traces: [NodeTrace<Scalar>] = []
            var current = x
            for (index, child) in nodes.enumerated() {
                let trace = try forward(child, current, path: path + ModelNode.label(of: child, at: index) + ".")
                traces.append(trace)
                current = trace.output
            }
            return .sequential(traces, output: current)
        case let .parallel(nodes):
            guard !nodes.isEmpty else { throw ModelError.emptyContainer(path: String(path.dropLast())) }
            let traces = try nodes.enumerated().map { index, child in
                try forward(child, x, path: path + ModelNode.label(of: child, at: index) + ".")
            }
            var sum = traces[0].output
            for (index, trace) in traces.enumerated().dropFirst() {
                do {
                    sum = try sum + trace.output
                } catch {
                    throw ModelError.layerFailed(
                        path: path + ModelNode.label(of: nodes[index], at: index), type: "Parallel", underlying: error)
                }
            }
            return .parallel(traces, output: sum)
        }
    }
}
