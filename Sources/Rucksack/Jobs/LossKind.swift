/// The losses a model file's user can name on the command line.
public enum LossKind: String, Sendable, CaseIterable {
    case crossEntropy = "cross-entropy"
    case mse
    case bceWithLogits = "bce-with-logits"

    /// The loss with the given reduction.
    public func make<Scalar: TensorScalar>(reduction: Reduction, as _: Scalar.Type = Scalar.self) -> any Loss<Scalar> {
        switch self {
        case .crossEntropy: CrossEntropyLoss(reduction: reduction)
        case .mse: MSELoss(reduction: reduction)
        case .bceWithLogits: BCEWithLogitsLoss(reduction: reduction)
        }
    }
}
