extension Model {
    /// The loss, its gradient and the requested quantities, all from one backward pass.
    ///
    /// Nothing is stored on the model; the results come back as a value. Each quantity reads out
    /// at every parameter of every layer. A layer that cannot provide a product a quantity needs
    /// (``LayerError/productUnavailable(layer:product:reason:)``) makes it throw
    /// ``QuantityError/unsupported(layer:quantity:reason:)``; any other error of a layer comes
    /// out as ``ModelError/layerFailed(path:type:underlying:)`` with the error itself inside.
    /// Parameter-free layers only pass values on.
    public func compute(
        _ quantities: [any Quantity<Scalar>], input: Tensor<Scalar>, target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> BackpropResults<Scalar> {
        let fields = quantities.map(\.field)
        if let duplicate = fields.first(where: { field in fields.filter { $0 == field }.count > 1 }) {
            throw QuantityError.invalidArgument(quantity: duplicate, reason: "requested twice")
        }
        guard let samples = input.shape.first, samples > 0 else { throw ModelError.emptyBatch(inputShape: input.shape) }
        let shapes = try parameterNames.map { try parameter($0).shape }
        for quantity in quantities {
            let elements = quantity.resultElements(parameterShapes: shapes, batchSize: input.shape.first ?? 0)
            let bytes = elements.flatMap { MemoryBudget.bytes(elements: $0, size: MemoryLayout<Scalar>.stride) }
            guard let bytes, bytes <= MemoryBudget.limit else {
                throw QuantityError.exceedsMemoryLimit(
                    quantity: quantity.field, batchSize: input.shape.first ?? 0, bytes: bytes, limit: MemoryBudget.limit)
            }
        }
        FreedMemoryReuse.enable()
        let runners = quantities.map { QuantityRunner($0) }
        let trace = try forward(input)
        let value = try loss.value(trace.output, target)
        let context = LossContext(loss: loss, output: trace.output, target: target)
        var gradients: [String: Tensor<Scalar>] = [:]
        var results: [String: [String: Tensor<Scalar>]] = Dictionary(uniqueKeysWithValues: fields.map { ($0, [:]) })

        let seed = State(delta: try loss.gradient(trace.output, target).unsqueezed(at: 0),
                         carried: try runners.map { try $0.start(context) })
        _ = try backward(trace, from: seed, step: { visit, state in
            guard let delta = state.delta else { return state }
            for name in visit.layer.parameterNames {
                let parameter = ParameterContext(visit: visit, parameter: name, outputGradient: try delta.squeezed(at: 0))
                for (runner, carried) in zip(runners, state.carried) {
                    do {
                        results[runner.field]![visit.path + name] = try runner.readOut(parameter, carried)
                    } catch let LayerError.productUnavailable(_, product, reason) {
                        throw QuantityError.unsupported(
                            layer: "\(visit.path.dropLast()) (\(visit.layer.typeName))", quantity: runner.field, reason: "\(product): \(reason)")
                    }
                }
                gradients[visit.path + name] = try parameter.gradient()
            }
            // Nothing upstream of the model input needs a value.
            guard !visit.inputIsModelInput else { return State(delta: nil, carried: state.carried) }
            return State(delta: try visit.layer.transposedJacobianProduct(delta, io: visit.io),
                         carried: try zip(runners, state.carried).map { try $0.backpropagate($1, visit) })
        }, merge: { first, second in
            guard let a = first.delta, let b = second.delta else { return State(delta: nil, carried: first.carried) }
            return State(delta: try a + b, carried: try zip(runners, zip(first.carried, second.carried)).map { try $0.merge($1.0, $1.1) })
        })
        return BackpropResults(loss: value, gradients: gradients, quantities: results)
    }

    /// The loss and its gradient w.r.t. every parameter, by one backward pass.
    public func gradient(
        _ input: Tensor<Scalar>, _ target: LossTarget<Scalar>, loss: some Loss<Scalar>
    ) throws -> (loss: Scalar, gradients: [String: Tensor<Scalar>]) {
        let results = try compute([], input: input, target: target, loss: loss)
        return (results.loss, results.gradients)
    }
}

/// What the engine carries backwards: the output gradient as a stack of one vector, and each
/// quantity's own value.
private struct State<Scalar: TensorScalar> {
    var delta: Tensor<Scalar>?
    var carried: [any Sendable]
}

/// One quantity with its carried type erased, so that quantities of different kinds run in the
/// same walk.
private struct QuantityRunner<Scalar: TensorScalar> {
    let field: String
    let start: (LossContext<Scalar>) throws -> any Sendable
    let backpropagate: (any Sendable, LayerVisit<Scalar>) throws -> any Sendable
    let merge: (any Sendable, any Sendable) throws -> any Sendable
    let readOut: (ParameterContext<Scalar>, any Sendable) throws -> Tensor<Scalar>

    init<Q: Quantity<Scalar>>(_ quantity: Q) {
        func typed(_ value: any Sendable) throws -> Q.Carried {
            guard let value = value as? Q.Carried else {
                throw QuantityError.invalidArgument(quantity: quantity.field, reason: "internal: carried value of the wrong type")
            }
            return value
        }
        field = quantity.field
        start = { try quantity.start($0) }
        backpropagate = { try quantity.backpropagate(typed($0), through: $1) }
        merge = { try quantity.merge(typed($0), typed($1)) }
        readOut = { try quantity.readOut($0, arrived: typed($1)) }
    }
}
