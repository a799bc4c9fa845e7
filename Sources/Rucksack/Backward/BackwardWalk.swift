/// One layer as the backward engine meets it.
public struct LayerVisit<Scalar: TensorScalar>: Sendable {
    public var layer: any Layer<Scalar>
    public var io: LayerIO<Scalar>
    /// The layer's dotted path prefix, e.g. `"2.0."`; parameter names are `path + name`.
    public var path: String
    /// Whether nothing upstream needs a value from this layer: its input is the model input, or
    /// only parameter-free layers outside parallel nodes lie between (a model's leading
    /// `Flatten`). The engine then skips the input gradient and every propagation.
    public var nothingUpstream: Bool

    /// The layer's path and type for messages, e.g. `2.0 (Conv2d)`.
    public var description: String { "\(path.dropLast()) (\(layer.typeName))" }
}

extension Model {
    /// Walks the traced forward pass in reverse, carrying a value from the output back to the input.
    ///
    /// `step` turns what arrives at a layer's output into what leaves at its input (reading out
    /// per-parameter results on the way); `merge` combines the values that come back from the
    /// branches of a `parallel` node, where one input fed several consumers, given also what
    /// arrived at the node's output. The walk is the same for every quantity. Inside a parallel
    /// node that reads the model input, the branches are walked to the input and merged, so a
    /// merge is never skipped.
    public func backward<Carried>(
        _ trace: NodeTrace<Scalar>, from seed: Carried,
        step: (LayerVisit<Scalar>, Carried) throws -> Carried,
        merge: ([Carried], Carried, ParallelVisit<Scalar>) throws -> Carried
    ) throws -> Carried {
        try Self.backward(root, trace, seed, path: "", nothingUpstream: true, step: step, merge: merge)
    }

    /// `Jᵀ · m` of a node: `[V, N, *out] → [V, N, *in]`, through every layer of it.
    static func transposedJacobianProduct(_ node: ModelNode<Scalar>, _ trace: NodeTrace<Scalar>, _ m: Tensor<Scalar>, path: String) throws -> Tensor<Scalar> {
        try backward(node, trace, m, path: path, nothingUpstream: false, step: { visit, m in
            try visit.layer.transposedJacobianProduct(m, io: visit.io)
        }, merge: { branches, _, _ in
            try branches.added()
        })
    }

    static func backward<Carried>(
        _ node: ModelNode<Scalar>, _ trace: NodeTrace<Scalar>, _ carried: Carried, path: String, nothingUpstream: Bool,
        step: (LayerVisit<Scalar>, Carried) throws -> Carried, merge: ([Carried], Carried, ParallelVisit<Scalar>) throws -> Carried
    ) throws -> Carried {
        switch (node, trace) {
        case let (.layer(layer), .layer(io)):
            let visit = LayerVisit(layer: layer, io: io, path: path, nothingUpstream: nothingUpstream)
            return try naming(path, layer.typeName) { try step(visit, carried) }
        case let (.named(_, node), trace):
            return try backward(node, trace, carried, path: path, nothingUpstream: nothingUpstream, step: step, merge: merge)
        case let (.sequential(nodes), .sequential(traces, _)):
            var current = carried
            for index in nodes.indices.reversed() {
                current = try backward(nodes[index], traces[index], current, path: path + ModelNode.label(of: nodes[index], at: index) + ".",
                                       nothingUpstream: nothingUpstream && !nodes[..<index].contains { $0.needsBackwardValues },
                                       step: step, merge: merge)
            }
            return current
        case let (.parallel(nodes), .parallel(traces, output)):
            guard !nodes.isEmpty else { return carried }
            let branches = try nodes.indices.map { index in
                try backward(nodes[index], traces[index], carried, path: path + ModelNode.label(of: nodes[index], at: index) + ".",
                             nothingUpstream: false, step: step, merge: merge)
            }
            let visit = ParallelVisit(path: path, branches: nodes, traces: traces, output: output)
            return try naming(path, "Parallel") { try merge(branches, carried, visit) }
        default:
            throw ModelError.traceMismatch(path: path)
        }
    }

    /// Runs `body`, reporting an error as ``ModelError/layerFailed(path:type:underlying:)`` of the
    /// node at `path`, unless it is a model or quantity error, which names the layer already.
    static func naming<T>(_ path: String, _ type: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ModelError {
            throw error
        } catch let error as QuantityError {
            throw error
        } catch {
            throw ModelError.layerFailed(path: String(path.dropLast()), type: type, underlying: error)
        }
    }
}
