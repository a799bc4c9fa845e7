/// What one backward pass produced: the loss, the gradient and every requested quantity,
/// keyed by PyTorch parameter name.
public struct BackpropResults<Scalar: TensorScalar>: Sendable {
    /// The reduced loss.
    public let loss: Scalar
    /// `∂L/∂θ` per parameter name.
    public let gradients: [String: Tensor<Scalar>]
    /// Per quantity field (`grad_batch`, …), the value per parameter name.
    public let quantities: [String: [String: Tensor<Scalar>]]

    /// All values of a quantity, by parameter name.
    public func values(of quantity: some Quantity<Scalar>) -> [String: Tensor<Scalar>] {
        quantities[quantity.field] ?? [:]
    }

    /// The value of a quantity for one parameter, e.g. `results[BatchGrad(), "0.weight"]`.
    public subscript(quantity: some Quantity<Scalar>, parameter: String) -> Tensor<Scalar>? {
        quantities[quantity.field]?[parameter]
    }
}
