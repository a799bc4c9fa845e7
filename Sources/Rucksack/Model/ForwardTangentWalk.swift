extension Model {
    /// Walks the traced forward pass from the input to the output, carrying a tangent: the
    /// directional derivative of each node's output (the R-operator of Pearlmutter, 1994).
    ///
    /// `step` turns the tangent at a layer's input into the one at its output; `nil` stands for
    /// a zero tangent, so that layers before the first moving parameter cost nothing. The
    /// branches of a parallel node get the same tangent and their tangents are added.
    static func forwardTangent(
        _ node: ModelNode<Scalar>, _ trace: NodeTrace<Scalar>, _ tangent: Tensor<Scalar>?, path: String,
        step: (LayerVisit<Scalar>, Tensor<Scalar>?) throws -> Tensor<Scalar>?
    ) throws -> Tensor<Scalar>? {
        switch (node, trace) {
        case let (.layer(layer), .layer(io)):
            let visit = LayerVisit(layer: layer, io: io, path: path, nothingUpstream: false)
            return try naming(path, layer.typeName) { try step(visit, tangent) }
        case let (.named(_, node), trace):
            return try forwardTangent(node, trace, tangent, path: path, step: step)
        case let (.sequential(nodes), .sequential(traces, _)):
            var current = tangent
            for index in nodes.indices {
                current = try forwardTangent(nodes[index], traces[index], current, path: path + ModelNode.label(of: nodes[index], at: index) + ".", step: step)
            }
            return current
        case let (.parallel(nodes), .parallel(traces, _)):
            let branches = try nodes.indices.compactMap { index in
                try forwardTangent(nodes[index], traces[index], tangent, path: path + ModelNode.label(of: nodes[index], at: index) + ".", step: step)
            }
            return branches.isEmpty ? nil : try branches.added()
        default:
            throw ModelError.traceMismatch(path: path)
        }
    }

    /// `J · m` of a node: `[V, N, *in] → [V, N, *out]`, through every layer of it.
    static func jacobianProduct(_ node: ModelNode<Scalar>, _ trace: NodeTrace<Scalar>, _ m: Tensor<Scalar>, path: String) throws -> Tensor<Scalar> {
        let product = try forwardTangent(node, trace, m, path: path) { visit, m in
            try m.map { try visit.layer.jacobianProduct($0, io: visit.io) }
        }
        guard let product else { throw ModelError.traceMismatch(path: path) }
        return product
    }
}
