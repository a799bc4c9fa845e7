/// Hessian backpropagation with batch-averaged matrices (bpexts' `hbp`, HBP spec §1): one dense
/// matrix `H̄` over the features of one sample per layer output, `Σₙ ∇²_{fₙ} L` at the loss, and
/// through each layer
///
///     H̄_in = (1/N) Σₙ Jₙᵀ H̄_out Jₙ + diag(r̃)      (averageInputJacobian == false)
///     H̄_in = J̄ᵀ H̄_out J̄ + diag(r̃)                 (averageInputJacobian == true, J̄ = (1/N) Σₙ Jₙ)
///
/// with `r = Σₙ f''(xₙ) ⊙ δₙ` summed over the batch first and then modified for the
/// ``CurvatureKind`` (spec §1.3). Both rules are exact for one sample, and agree for layers whose
/// Jacobian is the same for every sample. A parallel node sandwiches `H̄_out` with its own
/// Jacobian and adds the residuals that enter inside each branch (bpexts has no branches).
public struct HessianBackpropagation<Scalar: TensorScalar>: Propagation {
    public var curvature: CurvatureKind
    public var averageInputJacobian: Bool

    public init(_ curvature: CurvatureKind, averageInputJacobian: Bool) {
        self.curvature = curvature
        self.averageInputJacobian = averageInputJacobian
    }

    public func start(_ loss: LossContext<Scalar>) throws -> Tensor<Scalar> {
        try loss.loss.batchSummedHessian(loss.output, loss.target)
    }

    public func backpropagate(_ value: Tensor<Scalar>, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let (layer, io) = (visit.layer, visit.io)
        let features = io.input.count / Swift.max(io.batchSize, 1)
        try BatchAveragedHessian<Scalar>.checkFits(features: features, at: visit.description, quantity: "hbp")
        let sandwich = averageInputJacobian ? try layer.averagedJacobianSandwich(value, io: io) : try layer.batchAveragedSandwich(value, io: io)
        guard layer.inputHessianStructure == .diagonal,
              let residual = try curvature.modifiedResidual(layer.residualDiagonal(outputGradient: outputGradient, io: io).reshaped([io.batchSize, features]).sum(axes: [0]))
        else { return sandwich }
        return try sandwich + Tensor.diagonalStack(residual.unsqueezed(at: 0)).reshaped([features, features])
    }

    public func merge(_ branches: [Tensor<Scalar>], arrived: Tensor<Scalar>, at node: ParallelVisit<Scalar>) throws -> Tensor<Scalar> {
        guard let gradient = node.outputGradient else {
            throw QuantityError.invalidArgument(quantity: "hbp", reason: "internal: no output gradient at parallel node \(node.path.dropLast())")
        }
        return try merged(arrived, at: node, outputGradient: gradient)
    }

    /// The node's own sandwich of `H̄_out`, plus, unless the kind has no residual, what enters
    /// inside each branch: the branch walked from a zero matrix.
    private func merged(_ arrived: Tensor<Scalar>, at node: ParallelVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try BatchAveragedHessian<Scalar>.checkFits(features: arrived.shape[0], at: "\(node.path.dropLast()) (Parallel)", quantity: "hbp")
        var result = averageInputJacobian ? try node.averagedJacobianSandwich(arrived) : try node.batchAveragedSandwich(arrived)
        guard curvature != .ggn else { return result }
        let walked = try node.backwardThroughEachBranch(from: try Tensor<Scalar>(zeros: arrived.shape), outputGradient: outputGradient, step: { visit, value, gradient in
            try backpropagate(value, through: visit, outputGradient: gradient)
        }, merge: { arrived, inner, gradient in
            try merged(arrived, at: inner, outputGradient: gradient)
        })
        for branch in walked { result = try result + branch }
        return result
    }
}
