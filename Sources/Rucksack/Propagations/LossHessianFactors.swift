/// A symmetric factor of the loss Hessian, `S: [V, N, *out]` with `Σ_v sᵥₙ sᵥₙᵀ = ∇²_{fₙ} L`,
/// carried back by transposed Jacobian products: at a layer output it is the factor of the
/// generalized Gauss-Newton matrix w.r.t. that output (BackPACK spec §3.3–3.5).
///
/// Exact factors have `V = C` columns per sample (`C` output features); Monte Carlo factors have
/// `V = M`, from labels drawn from the model's predictive distribution, already divided by `√M`.
/// At a parallel node the branches' factors are added: every branch carries the same columns,
/// and the node's Jacobian is the sum of theirs, so the sum is exact.
public struct LossHessianFactors<Scalar: TensorScalar>: Propagation {
    public enum Kind: Hashable, Sendable {
        case exact
        /// `samples` labels per sample, drawn from a `RandomStream` seeded with `seed` anew in
        /// every pass: equal seeds give bit-identical factors.
        case monteCarlo(samples: Int, seed: UInt64)
    }

    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public func start(_ loss: LossContext<Scalar>) throws -> Tensor<Scalar> {
        switch kind {
        case .exact:
            return try loss.loss.hessianFactor(loss.output, loss.target, subsampling: nil)
        case let .monteCarlo(samples, seed):
            guard samples > 0 else {
                throw QuantityError.invalidArgument(quantity: "Monte Carlo factor", reason: "needs at least one sample, got \(samples)")
            }
            var stream = RandomStream(seed: seed)
            return try loss.loss.sampledHessianFactor(loss.output, samples: samples, stream: &stream, subsampling: nil)
        }
    }

    public func backpropagate(_ value: Tensor<Scalar>, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try visit.layer.transposedJacobianProduct(value, io: visit.io)
    }

    public func merge(_ branches: [Tensor<Scalar>], arrived: Tensor<Scalar>, at node: ParallelVisit<Scalar>) throws -> Tensor<Scalar> {
        try branches.added()
    }
}
