/// The Hessian w.r.t. a layer output as a signed sum of symmetric factors,
/// `∇²_z L = Σⱼ sⱼ Sⱼ Sⱼᵀ` with `sⱼ = ±1`, carried back by Hessian backpropagation
/// (BackPACK spec §3.6): every factor goes through `Jᵀ`, and a layer with a curved element-wise
/// map adds its residual `r = f''(x) ⊙ δ`, split into `r⁺ − r⁻`, as two diagonal factors
/// `diag(√r⁺)` (sign +1) and `diag(√r⁻)` (sign −1).
///
/// Each factor is keyed by where it entered (the loss, or a layer and sign). At a parallel node
/// factors of the same origin, which reached every branch, are added; factors that entered
/// inside one branch are kept as they are. That is exact: the node's Jacobian is the sum of its
/// branches'. BackPACK has no rule for branches here (spec §9 item 4).
public struct SignedHessianFactors<Scalar: TensorScalar>: Propagation {
    public init() {}

    /// One term `sign · S Sᵀ`.
    public struct Term: Sendable {
        /// `"loss"`, or the layer path and sign where the residual entered, e.g. `"1.+"`.
        public var origin: String
        public var sign: Scalar
        /// `[V, N, *shape]`.
        public var factor: Tensor<Scalar>
    }

    public func start(_ loss: LossContext<Scalar>) throws -> [Term] {
        [Term(origin: "loss", sign: 1, factor: try loss.loss.hessianFactor(loss.output, loss.target, subsampling: nil))]
    }

    public func backpropagate(_ value: [Term], through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> [Term] {
        var terms = try value.map { term in
            Term(origin: term.origin, sign: term.sign, factor: try visit.layer.transposedJacobianProduct(term.factor, io: visit.io))
        }
        guard visit.layer.inputHessianStructure == .diagonal else { return terms }
        let residual = try visit.layer.residualDiagonal(outputGradient: outputGradient, io: visit.io)
        for (sign, part) in [(Scalar(1), residual.clamped(min: 0)), (Scalar(-1), (-residual).clamped(min: 0))]
        where part.scalars.contains(where: { $0 != 0 }) {
            terms.append(Term(origin: visit.path + (sign > 0 ? "+" : "-"), sign: sign, factor: try Tensor.diagonalStack(part.sqrt())))
        }
        return terms
    }

    public func merge(_ branches: [[Term]], arrived: [Term], at node: ParallelVisit<Scalar>) throws -> [Term] {
        var merged: [Term] = []
        for term in branches.joined() {
            if let index = merged.firstIndex(where: { $0.origin == term.origin }) {
                merged[index].factor = try merged[index].factor + term.factor
            } else {
                merged.append(term)
            }
        }
        return merged
    }
}
