/// A model as a tree: layers, sequences of nodes, and parallel branches whose outputs are summed.
///
/// This covers `torch.nn.Sequential` and residual networks. Parameter names follow PyTorch:
/// a child's index in its container, or its name when it is wrapped in ``named(_:_:)``, joined
/// by dots (`2.0.1.weight`, `layer1.0.conv1.weight`).
public indirect enum ModelNode<Scalar: TensorScalar>: Sendable {
    case layer(any Layer<Scalar>)
    case sequential([ModelNode<Scalar>])
    /// Every branch gets the same input; the outputs are added.
    case parallel([ModelNode<Scalar>])
    /// A child called by a name instead of its index, as a named submodule in PyTorch.
    case named(String, ModelNode<Scalar>)

    /// `body(x) + shortcut(x)`, the shortcut being the identity unless given: a residual block.
    public static func residual(_ body: [ModelNode<Scalar>], shortcut: ModelNode<Scalar>? = nil) -> ModelNode<Scalar> {
        .parallel([.sequential(body), shortcut ?? .layer(Identity())])
    }

    /// The children of a container, or none for a layer.
    var children: [ModelNode<Scalar>] {
        switch self {
        case .layer: []
        case let .sequential(nodes), let .parallel(nodes): nodes
        case let .named(_, node): node.children
        }
    }

    /// Whether a backward walk must carry values into this node: it holds a parameter, or a
    /// parallel node, whose merge always runs.
    var needsBackwardValues: Bool {
        switch self {
        case let .layer(layer): !layer.parameterNames.isEmpty
        case .parallel: true
        case let .named(_, node): node.needsBackwardValues
        case let .sequential(nodes): nodes.contains { $0.needsBackwardValues }
        }
    }

    /// How a container's child appears in parameter names: its name, or its index.
    static func label(of node: ModelNode<Scalar>, at index: Int) -> String {
        if case let .named(name, _) = node { return name }
        return "\(index)"
    }

    /// Every layer with its dotted path prefix (`"2.0."`), in forward order.
    public func layers(prefix: String = "") -> [(path: String, layer: any Layer<Scalar>)] {
        switch self {
        case let .layer(layer): [(prefix, layer)]
        case let .named(_, node): node.layers(prefix: prefix)
        case let .sequential(nodes), let .parallel(nodes):
            nodes.enumerated().flatMap { index, node in node.layers(prefix: prefix + Self.label(of: node, at: index) + ".") }
        }
    }

    /// Replaces the layer at `path` (child labels, outermost first).
    mutating func updateLayer(at path: ArraySlice<String>, _ body: (inout any Layer<Scalar>) throws -> Void) throws {
        switch self {
        case var .layer(layer):
            guard path.isEmpty else { throw ModelError.unknownPath(path: path.joined(separator: ".")) }
            try body(&layer)
            self = .layer(layer)
        case .named(let name, var node):
            try node.updateLayer(at: path, body)
            self = .named(name, node)
        case var .sequential(nodes), var .parallel(nodes):
            guard let first = path.first,
                  let index = nodes.indices.first(where: { Self.label(of: nodes[$0], at: $0) == first }) else {
                throw ModelError.unknownPath(path: path.joined(separator: "."))
            }
            try nodes[index].updateLayer(at: path.dropFirst(), body)
            if case .sequential = self { self = .sequential(nodes) } else { self = .parallel(nodes) }
        }
    }
}

/// What a forward pass leaves for the backward pass, shaped like the model tree.
public indirect enum NodeTrace<Scalar: TensorScalar>: Sendable {
    case layer(LayerIO<Scalar>)
    case sequential([NodeTrace<Scalar>], output: Tensor<Scalar>)
    case parallel([NodeTrace<Scalar>], output: Tensor<Scalar>)

    public var output: Tensor<Scalar> {
        switch self {
        case let .layer(io): io.output
        case let .sequential(_, output), let .parallel(_, output): output
        }
    }
}

/// Errors of models, naming the layer (path and type) or parameter concerned.
public enum ModelError: Error, Sendable, CustomStringConvertible {
    case unknownParameter(name: String)
    case unknownPath(path: String)
    /// A layer's forward pass or products threw; `underlying` is that error, with its type.
    case layerFailed(path: String, type: String, underlying: any Error)
    case emptyContainer(path: String)
    case traceMismatch(path: String)
    /// An input without samples: the losses and quantities need at least one.
    case emptyBatch(inputShape: [Int])

    public var description: String {
        switch self {
        case let .unknownParameter(name): "the model has no parameter '\(name)'"
        case let .unknownPath(path): "the model has no layer at '\(path)'"
        case let .layerFailed(path, type, underlying): "layer \(path) (\(type)): \(underlying)"
        case let .emptyContainer(path): "container \(path.isEmpty ? "<root>" : path) has no layers"
        case let .traceMismatch(path): "the trace at '\(path)' does not belong to this model"
        case let .emptyBatch(shape): "the batch is empty: the input has shape \(shape); at least one sample is needed"
        }
    }
}

extension ModelError: Equatable {
    /// Equal cases with equal associated values; underlying errors are equal when they have the
    /// same type and the same description.
    public static func == (lhs: ModelError, rhs: ModelError) -> Bool {
        switch (lhs, rhs) {
        case let (.unknownParameter(a), .unknownParameter(b)), let (.unknownPath(a), .unknownPath(b)),
             let (.emptyContainer(a), .emptyContainer(b)), let (.traceMismatch(a), .traceMismatch(b)):
            a == b
        case let (.emptyBatch(a), .emptyBatch(b)):
            a == b
        case let (.layerFailed(pathA, typeA, errorA), .layerFailed(pathB, typeB, errorB)):
            pathA == pathB && typeA == typeB && type(of: errorA) == type(of: errorB)
                && String(describing: errorA) == String(describing: errorB)
        default: false
        }
    }
}
