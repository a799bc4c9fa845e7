/// An optimizer whose state between steps (momentum buffers, moment estimates, running
/// averages) can be saved with a checkpoint and restored, so that a resumed run takes the same
/// steps as one that never stopped.
public protocol StatefulOptimizer<Scalar> {
    associatedtype Scalar: TensorScalar

    /// The state as named tensors; empty before the first step.
    func savedState() throws -> [String: Tensor<Scalar>]

    /// Restores what ``savedState()`` returned; entries of unknown kind throw. Shapes are checked
    /// when the next step uses the state (the error names both shapes).
    mutating func restoreState(_ state: [String: Tensor<Scalar>]) throws
}

extension StatefulOptimizer {
    /// A step count saved as a one-element tensor.
    static func savedCount(_ count: Int) throws -> Tensor<Scalar> { try Tensor(shape: [1], scalars: [Scalar(count)]) }

    /// The step count under `step`, 0 when absent.
    static func restoredCount(_ state: [String: Tensor<Scalar>], optimizer: String) throws -> Int {
        guard let tensor = state["step"] else { return 0 }
        guard tensor.count == 1, let value = tensor.scalars.first, value >= 0, value == value.rounded() else {
            throw QuantityError.invalidArgument(quantity: optimizer, reason: "saved state 'step' must hold one whole non-negative number, got shape \(tensor.shape)")
        }
        return Int(value)
    }

    /// The entries `prefix.<parameter>` of `state`, by parameter; anything else but `allowed` throws.
    static func entries(_ state: [String: Tensor<Scalar>], prefixes: [String], allowed: Set<String> = ["step"], optimizer: String) throws -> [String: [String: Tensor<Scalar>]] {
        var grouped: [String: [String: Tensor<Scalar>]] = [:]
        for (key, tensor) in state where !allowed.contains(key) {
            guard let prefix = prefixes.first(where: { key.hasPrefix($0 + ".") }) else {
                throw QuantityError.invalidArgument(quantity: optimizer, reason: "unknown saved state '\(key)'; expected \(prefixes.map { $0 + ".<parameter>" }.joined(separator: " or "))")
            }
            grouped[prefix, default: [:]][String(key.dropFirst(prefix.count + 1))] = tensor
        }
        return grouped
    }
}
