/// One matrix per layer output, `Q: [D, D]` over the features of one sample, carried back by
/// batch-averaged sandwiches: `Q = Σₙ ∇²_{fₙ} L` at the loss, then `Q ← (1/N) Σₙ Jₙᵀ Q Jₙ` through
/// every layer (KFRA, BackPACK spec §3.7; the GGN curvature, without residual terms).
///
/// A parallel node's matrix is the node's own sandwich: its Jacobian is the sum of its
/// branches', and summing the branches' sandwiches would lose the cross terms between them.
/// A layer whose matrices would exceed the memory limit is refused before they are allocated,
/// naming the layer and the bytes.
public struct BatchAveragedHessian<Scalar: TensorScalar>: Propagation {
    public init() {}

    public func start(_ loss: LossContext<Scalar>) throws -> Tensor<Scalar> {
        try loss.loss.batchSummedHessian(loss.output, loss.target)
    }

    public func backpropagate(_ value: Tensor<Scalar>, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Self.checkFits(features: visit.io.input.count / Swift.max(visit.io.batchSize, 1), at: visit.description)
        return try visit.layer.batchAveragedSandwich(value, io: visit.io)
    }

    public func merge(_ branches: [Tensor<Scalar>], arrived: Tensor<Scalar>, at node: ParallelVisit<Scalar>) throws -> Tensor<Scalar> {
        try Self.checkFits(features: arrived.shape[0], at: "\(node.path.dropLast()) (Parallel)")
        return try node.batchAveragedSandwich(arrived)
    }

    /// Throws unless three dense `[features, features]` matrices fit the memory limit: a
    /// sandwich holds the matrix that arrives, the one it makes and one of their size between.
    static func checkFits(features: Int, at layer: String, quantity: String = "kfra") throws {
        let elements = (3 * features).multipliedReportingOverflow(by: features)
        let bytes = elements.overflow ? nil : MemoryBudget.bytes(elements: elements.partialValue, size: MemoryLayout<Scalar>.stride)
        guard let bytes, bytes <= MemoryBudget.limit else {
            throw QuantityError.denseMatrixTooLarge(layer: layer, quantity: quantity, shape: [features, features], bytes: bytes, limit: MemoryBudget.limit)
        }
    }
}
