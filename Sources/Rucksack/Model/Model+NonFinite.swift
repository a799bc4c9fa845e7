extension NodeTrace {
    /// What every layer saw, in forward order.
    var layerIOs: [LayerIO<Scalar>] {
        switch self {
        case let .layer(io): [io]
        case let .sequential(traces, _), let .parallel(traces, _): traces.flatMap(\.layerIOs)
        }
    }
}

extension Model {
    /// The first layer, in forward order, whose output holds NaN or ±∞ although its input did
    /// not, as `path (Type)`; `nil` when every output is finite.
    public func firstNonFiniteLayer(in trace: NodeTrace<Scalar>) -> String? {
        for ((path, layer), io) in zip(root.layers(), trace.layerIOs) where io.input.isFinite && !io.output.isFinite {
            return "\(path.dropLast()) (\(layer.typeName))"
        }
        return nil
    }
}
