/// What one backward pass produced: the loss, the gradient and every requested quantity,
/// keyed by PyTorch parameter name.
public struct BackpropResults<Scalar: TensorScalar>: Sendable {
    /// The reduced loss.
    public let loss: Scalar
    /// The model's output for the batch (e.g. the logits, to count correct predictions).
    public let output: Tensor<Scalar>
    /// `∂L/∂θ` per parameter name.
    public let gradients: [String: Tensor<Scalar>]
    /// Per requested quantity (settings included), the value per parameter name.
    let values: [QuantityKey: [String: any QuantityValue<Scalar>]]

    /// All values of a quantity, by parameter name; empty unless it was requested with these settings.
    public func values<Q: Quantity<Scalar>>(of quantity: Q) -> [String: Q.Value] {
        (values[QuantityKey(quantity)] ?? [:]).compactMapValues { $0 as? Q.Value }
    }

    /// The value of a quantity for one parameter, e.g. `results[BatchGrad(), "0.weight"]`.
    public subscript<Q: Quantity<Scalar>>(quantity: Q, parameter: String) -> Q.Value? {
        values[QuantityKey(quantity)]?[parameter] as? Q.Value
    }

    /// The value of a quantity of any type for one parameter, as named tensors:
    /// `(<field>, tensor)` for a tensor, `(<field>.<i>, tensor)` for a list.
    public func namedTensors(of quantity: some Quantity<Scalar>, parameter: String) -> [(name: String, tensor: Tensor<Scalar>)]? {
        guard let value = self[quantity, parameter] else { return nil }
        let tensors = value.tensors
        guard type(of: value).isList else { return tensors.map { (quantity.field, $0) } }
        return tensors.enumerated().map { ("\(quantity.field).\($0.offset)", $0.element) }
    }
}

/// A requested quantity with its settings, as a dictionary key.
struct QuantityKey: Hashable, @unchecked Sendable {
    // Unchecked: built only from quantities, which are `Sendable`.
    private let base: AnyHashable
    init(_ quantity: some Quantity) { base = AnyHashable(quantity) }
}
