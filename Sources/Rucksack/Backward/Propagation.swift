/// What a family of quantities carries from the loss back through the layers.
///
/// Quantities that need the same thing name equal propagations, and the engine runs each
/// distinct propagation once per pass: ``DiagGGNExact``, ``BatchDiagGGNExact``, ``SqrtGGNExact``
/// and ``KFLR`` all read out from one propagated exact loss-Hessian factor.
public protocol Propagation<Scalar>: Sendable, Hashable {
    associatedtype Scalar: TensorScalar
    /// What travels backwards.
    associatedtype Carried: Sendable

    /// The value at the model output.
    func start(_ loss: LossContext<Scalar>) throws -> Carried

    /// Moves the value from a layer's output to its input; `outputGradient` is `∂L/∂output`,
    /// `[N, *out]`, for residual terms such as `f''(x) ⊙ δ`.
    func backpropagate(_ value: Carried, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> Carried

    /// The value at the input of a parallel node, from what each branch returned and what
    /// `arrived` at the node's output. The node's Jacobian is the sum of its branches'
    /// (``ParallelVisit``), so a propagation whose value is not linear in the Jacobian can use
    /// the node's own products instead of the branches' results.
    func merge(_ branches: [Carried], arrived: Carried, at node: ParallelVisit<Scalar>) throws -> Carried
}

/// The propagation of first-order quantities: nothing beyond the gradient, which the engine
/// carries for every quantity.
public struct NoPropagation<Scalar: TensorScalar>: Propagation {
    public init() {}
    public func start(_ loss: LossContext<Scalar>) throws -> NothingCarried { NothingCarried() }
    public func backpropagate(_ value: NothingCarried, through visit: LayerVisit<Scalar>, outputGradient: Tensor<Scalar>) throws -> NothingCarried {
        value
    }
    public func merge(_ branches: [NothingCarried], arrived: NothingCarried, at node: ParallelVisit<Scalar>) throws -> NothingCarried {
        arrived
    }
}

/// The carried value of first-order quantities.
public struct NothingCarried: Sendable {
    public init() {}
}

/// A parallel node as the backward engine meets it: its branches read the same input and their
/// outputs are added, so its Jacobian is the sum of the branches' Jacobians.
public struct ParallelVisit<Scalar: TensorScalar>: Sendable {
    /// The node's dotted path prefix, e.g. `"3."`.
    public var path: String
    let branches: [ModelNode<Scalar>]
    let traces: [NodeTrace<Scalar>]
    /// The node's output, the sum of its branches' outputs.
    public let output: Tensor<Scalar>
    /// `∂L/∂output`, `[N, *out]`, where the walk carries the gradient (``Model/compute(_:input:target:loss:)`` does).
    public internal(set) var outputGradient: Tensor<Scalar>?

    /// `J · m` of the whole node: `[V, N, *in] → [V, N, *out]`, the branches' products added.
    public func jacobianProduct(_ m: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Model<Scalar>.jacobianProduct(.parallel(branches), .parallel(traces, output: output), m, path: path)
    }

    /// Walks each branch backwards on its own from `seed` at the node output, carrying the
    /// gradient along (from `outputGradient`, moved by each layer's `Jᵀ`), and returns what
    /// reached the input through each: a propagation whose residual terms need the gradient uses
    /// it to find what enters inside a branch, apart from what arrived at the node. `step` and
    /// `merge` get the gradient at the output of the layer or of a nested parallel node.
    public func backwardThroughEachBranch<Carried>(
        from seed: Carried, outputGradient: Tensor<Scalar>,
        step: (LayerVisit<Scalar>, Carried, Tensor<Scalar>) throws -> Carried,
        merge: (Carried, ParallelVisit<Scalar>, Tensor<Scalar>) throws -> Carried
    ) throws -> [Carried] {
        typealias Walked = (value: Carried, gradient: Tensor<Scalar>)
        return try branches.indices.map { index in
            let walked: Walked = try Model<Scalar>.backward(
                branches[index], traces[index], (seed, outputGradient), path: path + ModelNode.label(of: branches[index], at: index) + ".",
                nothingUpstream: false, step: { visit, arrived in
                    (try step(visit, arrived.value, arrived.gradient),
                     try visit.layer.transposedJacobianProduct(arrived.gradient.unsqueezed(at: 0), io: visit.io).squeezed(at: 0))
                }, merge: { _, arrived, inner in
                    (try merge(arrived.value, inner, arrived.gradient),
                     try inner.transposedJacobianProduct(arrived.gradient.unsqueezed(at: 0)).squeezed(at: 0))
                })
            return walked.value
        }
    }

    /// `Jᵀ · m` of the whole node: `[V, N, *out] → [V, N, *in]`, the branches' products added.
    public func transposedJacobianProduct(_ m: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Model<Scalar>.transposedJacobianProduct(.parallel(branches), .parallel(traces, output: output), m, path: path)
    }

    /// `J̄ᵀ M J̄` of the whole node, `J̄` its batch-averaged Jacobian.
    public func averagedJacobianSandwich(_ m: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try BatchAveragedSandwich.ofAveragedJacobian(
            m, outputShape: output.shape, operation: "parallel node \(path.dropLast()) averaged-Jacobian sandwich", transposedProduct: transposedJacobianProduct)
    }

    /// `(1/N) Σₙ Jₙᵀ M Jₙ` of the whole node for a symmetric `M: [D_out, D_out]`, with the cross
    /// terms between branches that summing the branches' own sandwiches would lose.
    public func batchAveragedSandwich(_ m: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try BatchAveragedSandwich.byTransposedProducts(
            m, outputShape: output.shape, operation: "parallel node \(path.dropLast()) sandwich", transposedProduct: transposedJacobianProduct)
    }
}

/// `(1/N) Σₙ Jₙᵀ M Jₙ` and `J̄ᵀ M J̄` from two rounds of transposed Jacobian products, for any map.
enum BatchAveragedSandwich {
    /// `J̄ᵀ M J̄` for `J̄ = (1/N) Σₙ Jₙ` and a symmetric `M`: `M J̄` row by row as `J̄ᵀ` of the rows of
    /// `M`, then `J̄ᵀ` of its columns; `J̄ᵀ u` is the sample mean of `Jₙᵀ u`.
    static func ofAveragedJacobian<Scalar: TensorScalar>(
        _ m: Tensor<Scalar>, outputShape: [Int], operation: String, transposedProduct: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> Tensor<Scalar> {
        let (n, outSample, outFeatures) = try checkedOutput(m, outputShape: outputShape, operation: operation)
        func averagedTransposed(_ rows: Tensor<Scalar>) throws -> Tensor<Scalar> {
            let k = rows.shape[0]
            try MemoryBudget.check([k, n, outFeatures], of: Scalar.self, operation: operation)
            return try transposedProduct(spread(rows, samples: n, sampleShape: outSample)).reshaped([k, n, -1]).sum(axes: [1]) / Scalar(Swift.max(n, 1))
        }
        let mj = try averagedTransposed(m)  // [D_out, D_in]: M J̄
        return try averagedTransposed(mj.transposed()).transposed()
    }

    /// The output's batch size, sample shape and features per sample; throws unless `m` is
    /// `[features, features]`.
    private static func checkedOutput<Scalar: TensorScalar>(
        _ m: Tensor<Scalar>, outputShape: [Int], operation: String
    ) throws -> (samples: Int, sampleShape: [Int], features: Int) {
        let sampleShape = Array(outputShape.dropFirst())
        let features = sampleShape.reduce(1, *)
        guard m.shape == [features, features] else {
            throw TensorError.shapeMismatch(operation: operation, lhs: m.shape, rhs: [features, features])
        }
        return (outputShape.first ?? 0, sampleShape, features)
    }

    /// Each row of `rows: [K, D]` given to every sample: the stack `[K, N, *sampleShape]`.
    private static func spread<Scalar: TensorScalar>(_ rows: Tensor<Scalar>, samples: Int, sampleShape: [Int]) throws -> Tensor<Scalar> {
        let (k, d) = (rows.shape[0], rows.shape[1])
        return try rows.unsqueezed(at: 1).expanded(to: [k, samples, d]).reshaped([k, samples] + sampleShape)
    }

    /// `Cₙ = (Jₙᵀ M)ᵀ = M Jₙ` by applying `Jᵀ` to the columns of `M`, then `Jₙᵀ Cₙ` by applying `Jᵀ`
    /// to the columns of each `Cₙ`. Refuses up front when the stacks would not fit in memory.
    static func byTransposedProducts<Scalar: TensorScalar>(
        _ m: Tensor<Scalar>, outputShape: [Int], operation: String, transposedProduct: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> Tensor<Scalar> {
        let (n, outSample, outFeatures) = try checkedOutput(m, outputShape: outputShape, operation: operation)
        try MemoryBudget.check([outFeatures, n, outFeatures], of: Scalar.self, operation: operation)
        // Columns of M, the same for every sample: [D_out, N, *out].
        let columns = try spread(m.transposed(), samples: n, sampleShape: outSample)
        let mj = try transposedProduct(columns)  // Cₙ[v, :], [D_out, N, *in]
        let inFeatures = mj.count / Swift.max(outFeatures * n, 1)
        try MemoryBudget.check([inFeatures, n, outFeatures], of: Scalar.self, operation: operation)
        let stacked = try mj.reshaped([outFeatures, n, inFeatures]).permuted([2, 1, 0]).reshaped([inFeatures, n] + outSample)
        let sandwiches = try transposedProduct(stacked).reshaped([inFeatures, n, inFeatures])
        return try sandwiches.sum(axes: [1]).transposed() / Scalar(Swift.max(n, 1))
    }
}
