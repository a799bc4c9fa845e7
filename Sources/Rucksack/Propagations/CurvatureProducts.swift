/// Which curvature the exact block products multiply with: bpexts' `modify_2nd_order_terms`
/// applied to the residual `r = f''(x) ⊙ δ` of curved layers, per sample and feature.
public enum CurvatureKind: String, Sendable, Hashable, CaseIterable {
    /// The Hessian: `r` as it is.
    case hessian
    /// The generalized Gauss–Newton matrix: no residual.
    case ggn
    /// The positive-curvature Hessian with `|r|`.
    case pchAbs = "pch_abs"
    /// The positive-curvature Hessian with `max(r, 0)`.
    case pchClip = "pch_clip"

    /// `r` modified for this kind; `nil` where the kind has no residual.
    func modifiedResidual<Scalar>(_ residual: Tensor<Scalar>) -> Tensor<Scalar>? {
        switch self {
        case .hessian: residual
        case .ggn: nil
        case .pchAbs: residual.abs()
        case .pchClip: residual.clamped(min: 0)
        }
    }
}

/// The curvature w.r.t. a layer output as an operator on stacks `[V, N, *z]`, each sample's
/// block applied to that sample's vectors; `nil` is the zero operator.
public struct OutputCurvature<Scalar: TensorScalar>: Sendable {
    let product: (@Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>)?
}

/// Exact curvature w.r.t. each layer output, carried back as a function (BackPACK spec §3.8,
/// bpexts spec §3): the loss starts with `M ↦ ∇²_f L · M`, and a layer turns `H_out` into
/// `H_in(M) = Jᵀ H_out(J M) + r̃ ⊙ M`, with `r̃` the residual modified for the ``CurvatureKind``.
///
/// At a parallel node the input curvature is `J_nodeᵀ H_out J_node` (cross terms between
/// branches included) plus what enters inside each branch, found by walking each branch from a
/// zero operator with the gradient at the node output. The PCH residual is `|f''(x) ⊙ δ|` (or
/// clipped), not BackPACK's `f''(x) ⊙ δ²` (its spec §3.8).
public struct CurvatureProducts<Scalar: TensorScalar>: Propagation {
    public var curvature: CurvatureKind

    public init(_ curvature: CurvatureKind) { self.curvature = curvature }

    public func start(_ loss: LossContext<Scalar>) throws -> OutputCurvature<Scalar> {
        let (function, output, target) = (loss.loss, loss.output, loss.target)
        return OutputCurvature { try function.hessianProduct($0, output: output, target) }
    }

    public func backpropagate(_ value: OutputCurvature<Scalar>, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> OutputCurvature<Scalar> {
        let (layer, io) = (visit.layer, visit.io)
        let residual = layer.inputHessianStructure == .diagonal
            ? try curvature.modifiedResidual(layer.residualDiagonal(outputGradient: outputGradient, io: io)) : nil
        let outer = value.product
        guard outer != nil || residual != nil else { return OutputCurvature(product: nil) }
        return OutputCurvature { m in
            var result: Tensor<Scalar>? = try outer.map { try layer.transposedJacobianProduct($0(layer.jacobianProduct(m, io: io)), io: io) }
            if let residual {
                let term = try m * residual
                result = try result.map { try $0 + term } ?? term
            }
            return result!
        }
    }

    public func merge(_ branches: [OutputCurvature<Scalar>], arrived: OutputCurvature<Scalar>, at node: ParallelVisit<Scalar>) throws -> OutputCurvature<Scalar> {
        guard let gradient = node.outputGradient else {
            throw QuantityError.invalidArgument(quantity: "curvature products", reason: "internal: no output gradient at parallel node \(node.path.dropLast())")
        }
        return try merged(arrived, at: node, outputGradient: gradient)
    }

    /// `J_nodeᵀ H_out J_node` plus, unless the kind has no residual, each branch's own part.
    private func merged(_ arrived: OutputCurvature<Scalar>, at node: ParallelVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> OutputCurvature<Scalar> {
        var parts: [@Sendable (Tensor<Scalar>) throws -> Tensor<Scalar>] = []
        if let outer = arrived.product {
            parts.append { m in try node.transposedJacobianProduct(outer(node.jacobianProduct(m))) }
        }
        if curvature != .ggn {
            parts += try inBranches(node, outputGradient: outputGradient).compactMap(\.product)
        }
        guard !parts.isEmpty else { return OutputCurvature(product: nil) }
        let terms = parts
        return OutputCurvature { m in try terms.map { try $0(m) }.added() }
    }

    /// What enters inside each branch: the branch walked from a zero operator.
    private func inBranches(_ node: ParallelVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> [OutputCurvature<Scalar>] {
        try node.backwardThroughEachBranch(from: OutputCurvature(product: nil), outputGradient: outputGradient, step: { visit, value, gradient in
            try backpropagate(value, through: visit, outputGradient: gradient)
        }, merge: { arrived, inner, gradient in
            try merged(arrived, at: inner, outputGradient: gradient)
        })
    }
}
