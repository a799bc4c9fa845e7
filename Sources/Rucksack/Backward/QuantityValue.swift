/// What a quantity returns per parameter, as the tensors a file holds.
public protocol QuantityValue<Scalar>: Sendable {
    associatedtype Scalar: TensorScalar
    /// The tensors, in order.
    var tensors: [Tensor<Scalar>] { get }
    /// Whether the value is a list (written as `<param>.<field>.0`, `.1`, …) rather than one
    /// tensor (written as `<param>.<field>`).
    static var isList: Bool { get }
}

extension Tensor: QuantityValue {
    public var tensors: [Tensor<Scalar>] { [self] }
    public static var isList: Bool { false }
}
