extension Model {
    /// The loss, its gradient and the requested quantities, all from one backward pass.
    ///
    /// Nothing is stored on the model; the results come back as a value. Each distinct
    /// ``Propagation`` runs once, and each quantity reads out at every parameter of every layer.
    /// A layer that cannot provide a product a quantity needs
    /// (``LayerError/productUnavailable(layer:product:reason:)``) makes it throw
    /// ``QuantityError/unsupported(layer:quantity:reason:)``; any other error of a layer comes
    /// out as ``ModelError/layerFailed(path:type:underlying:)`` with the error itself inside.
    /// Parameter-free layers only pass values on.
    public func compute(
        _ quantities: [any Quantity<Scalar>], input: Tensor<Scalar>, target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> BackpropResults<Scalar> {
        let keys = quantities.map { QuantityKey($0) }
        if let duplicate = quantities.indices.first(where: { index in keys.filter { $0 == keys[index] }.count > 1 }) {
            throw QuantityError.invalidArgument(quantity: quantities[duplicate].field, reason: "requested twice")
        }
        guard let samples = input.shape.first, samples > 0 else { throw ModelError.emptyBatch(inputShape: input.shape) }
        let shapes = try parameterNames.map { try parameter($0).shape }
        // Results that cannot fit are refused before the pass, or (where their size depends on
        // the model's outputs) before the backward pass.
        func checkResults(_ elements: (any Quantity<Scalar>) -> Int?) throws {
            for quantity in quantities {
                let bytes = elements(quantity).flatMap { MemoryBudget.bytes(elements: $0, size: MemoryLayout<Scalar>.stride) }
                guard let bytes, bytes <= MemoryBudget.limit else {
                    throw QuantityError.exceedsMemoryLimit(quantity: quantity.field, batchSize: samples, bytes: bytes, limit: MemoryBudget.limit)
                }
            }
        }
        try checkResults { $0.resultElements(parameterShapes: shapes, batchSize: samples) }
        FreedMemoryReuse.enable()
        var propagations: [PropagationRunner<Scalar>] = []
        let runners = quantities.map { QuantityRunner($0, propagations: &propagations) }
        let trace = try forward(input)
        let outputFeatures = trace.output.count / samples
        try checkResults { $0.resultElements(parameterShapes: shapes, batchSize: samples, outputFeatures: outputFeatures) }
        let value = try loss.value(trace.output, target)
        let context = LossContext(loss: loss, output: trace.output, target: target)
        var gradients: [String: Tensor<Scalar>] = [:]
        var results: [QuantityKey: [String: any QuantityValue<Scalar>]] = Dictionary(uniqueKeysWithValues: keys.map { ($0, [:]) })

        let seed = State(delta: try loss.gradient(trace.output, target).unsqueezed(at: 0),
                         carried: try propagations.map { try $0.start(context) })
        _ = try backward(trace, from: seed, step: { visit, state in
            guard let delta = state.delta else { return state }
            let outputGradient = try delta.squeezed(at: 0)
            for name in visit.layer.parameterNames {
                let parameter = ParameterContext(visit: visit, parameter: name, outputGradient: outputGradient)
                for runner in runners {
                    results[runner.key]![visit.path + name] = try Self.naming(visit, runner.field) {
                        try runner.readOut(parameter, state.carried[runner.propagation])
                    }
                }
                gradients[visit.path + name] = try parameter.gradient()
            }
            guard !visit.nothingUpstream else { return State(delta: nil, carried: state.carried) }
            let carried = try propagations.indices.map { index in
                try Self.naming(visit, propagations[index].quantities) {
                    try propagations[index].backpropagate(state.carried[index], visit, outputGradient)
                }
            }
            return State(delta: try visit.layer.transposedJacobianProduct(delta, io: visit.io), carried: carried)
        }, merge: { branches, arrived, node in
            let deltas = branches.compactMap(\.delta)
            guard deltas.count == branches.count, !deltas.isEmpty else { return State(delta: nil, carried: arrived.carried) }
            var node = node
            node.outputGradient = try arrived.delta?.squeezed(at: 0)
            let carried = try propagations.indices.map { index in
                try propagations[index].merge(branches.map { $0.carried[index] }, arrived.carried[index], node)
            }
            return State(delta: try deltas.added(), carried: carried)
        })
        return BackpropResults(loss: value, output: trace.output, gradients: gradients, values: results)
    }

    /// The loss and its gradient w.r.t. every parameter, by one backward pass.
    public func gradient(
        _ input: Tensor<Scalar>, _ target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> (loss: Scalar, gradients: [String: Tensor<Scalar>]) {
        let results = try compute([], input: input, target: target, loss: loss)
        return (results.loss, results.gradients)
    }

    /// Runs `body`, reporting a product the layer cannot provide as unsupported for `quantity`.
    private static func naming<T>(_ visit: LayerVisit<Scalar>, _ quantity: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let LayerError.productUnavailable(_, product, reason) {
            throw QuantityError.unsupported(layer: visit.description, quantity: quantity, reason: "\(product): \(reason)")
        }
    }
}

/// What the engine carries backwards: the output gradient as a stack of one vector, and each
/// propagation's own value.
private struct State<Scalar: TensorScalar> {
    var delta: Tensor<Scalar>?
    var carried: [any Sendable]
}

/// One propagation with its carried type erased, so that propagations of different kinds run
/// in the same walk.
private struct PropagationRunner<Scalar: TensorScalar> {
    let key: AnyHashable
    /// The fields of the quantities that read out from it, for messages.
    var quantities: String
    let start: (LossContext<Scalar>) throws -> any Sendable
    let backpropagate: (any Sendable, LayerVisit<Scalar>, Tensor<Scalar>) throws -> any Sendable
    let merge: ([any Sendable], any Sendable, ParallelVisit<Scalar>) throws -> any Sendable

    init<P: Propagation<Scalar>>(_ propagation: P, quantity: String) {
        func typed(_ value: any Sendable) throws -> P.Carried {
            guard let value = value as? P.Carried else {
                throw QuantityError.invalidArgument(quantity: quantity, reason: "internal: carried value of the wrong type")
            }
            return value
        }
        key = AnyHashable(propagation)
        quantities = quantity
        start = { try propagation.start($0) }
        backpropagate = { try propagation.backpropagate(typed($0), through: $1, outputGradient: $2) }
        merge = { branches, arrived, node in try propagation.merge(branches.map(typed), arrived: typed(arrived), at: node) }
    }
}

/// One quantity with its types erased, reading out from the propagation at index `propagation`.
private struct QuantityRunner<Scalar: TensorScalar> {
    let key: QuantityKey
    let field: String
    let propagation: Int
    let readOut: (ParameterContext<Scalar>, any Sendable) throws -> any QuantityValue<Scalar>

    init<Q: Quantity<Scalar>>(_ quantity: Q, propagations: inout [PropagationRunner<Scalar>]) {
        key = QuantityKey(quantity)
        field = quantity.field
        let propagationKey = AnyHashable(quantity.propagation)
        if let index = propagations.firstIndex(where: { $0.key == propagationKey }) {
            propagation = index
            propagations[index].quantities += ", " + quantity.field
        } else {
            propagation = propagations.count
            propagations.append(PropagationRunner(quantity.propagation, quantity: quantity.field))
        }
        readOut = { context, carried in
            guard let carried = carried as? Q.Propagated.Carried else {
                throw QuantityError.invalidArgument(quantity: quantity.field, reason: "internal: carried value of the wrong type")
            }
            return try quantity.readOut(context, arrived: carried)
        }
    }
}
