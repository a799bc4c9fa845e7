/// A model as a tree: layers, sequences of nodes, and parallel branches whose outputs are summed.
///
/// This covers `torch.nn.Sequential` and residual networks. Parameter names follow PyTorch:
/// a child's index in its container, joined by dots (`2.0.1.weight`).
public indirect enum ModelNode<Scalar: TensorScalar>: Sendable {
    case layer(any Layer<Scalar>)
    case sequential([ModelNode<Scalar>])
    /// Every branch gets the same input; the outputs are added.
    case parallel([ModelNode<Scalar>])

    /// `body(x) + shortcut(x)`, the shortcut being the identity unless given: a residual block.
    public static func residual(_ body: [ModelNode<Scalar>], shortcut: ModelNode<Scalar>? = nil) -> ModelNode<Scalar> {
        .parallel([.sequential(body), shortcut ?? .layer(Identity())])
    }

    /// The children of a container, or none for a layer.
    var children: [ModelNode<Scalar>] {
        switch self {
        case .layer: []
        case let .sequential(nodes), let .parallel(nodes): nodes
        }
    }

    /// Every layer with its dotted path prefix (`"2.0."`), in forward order.
    func layers(prefix: String = "") -> [(path: String, layer: any Layer<Scalar>)] {
        switch self {
        case let .layer(layer): [(prefix, layer)]
        case let .sequential(nodes), let .parallel(nodes):
            nodes.enumerated().flatMap { index, node in node.layers(prefix: prefix + "\(index).") }
        }
    }

    /// Replaces the layer at `path` (a list of child indices).
    mutating func updateLayer(at path: ArraySlice<Int>, _ body: (inout any Layer<Scalar>) throws -> Void) throws {
        switch self {
        case var .layer(layer):
            guard path.isEmpty else { throw ModelError.unknownPath(path: Array(path)) }
            try body(&layer)
            self = .layer(layer)
        case var .sequential(nodes), var .parallel(nodes):
            guard let first = path.first, nodes.indices.contains(first) else { throw ModelError.unknownPath(path: Array(path)) }
            try nodes[first].updateLayer(at: path.dropFirst(), body)
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
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownParameter(name: String)
    case unknownPath(path: [Int])
    case layerFailed(path: String, type: String, underlying: String)
    case emptyContainer(path: String)

    public var description: String {
        switch self {
        case let .unknownParameter(name): "the model has no parameter '\(name)'"
        case let .unknownPath(path): "the model has no layer at \(path.map(String.init).joined(separator: "."))"
        case let .layerFailed(path, type, underlying): "layer \(path) (\(type)): \(underlying)"
        case let .emptyContainer(path): "container \(path.isEmpty ? "<root>" : path) has no layers"
        }
    }
}
