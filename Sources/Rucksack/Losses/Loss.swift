/// How a loss combines per-sample terms: `L = ρ Σₙ ℓₙ` with `ρ = 1` (`sum`) or `1/R` (`mean`,
/// `R` the loss's own normaliser), as in PyTorch.
public enum Reduction: String, Sendable, CaseIterable {
    case mean, sum
}

/// The targets of a batch: class indices (`[N, *]`, row-major) or values shaped like the output.
public enum LossTarget<Scalar: TensorScalar>: Sendable {
    case classes(shape: [Int], indices: [Int])
    case values(Tensor<Scalar>)
}

/// A loss with PyTorch semantics and the second-order information that quantities start from.
///
/// Scaling follows BackPACK (its spec §3.3): every result is for the *reduced* loss `L`, so with
/// `mean` the factors carry `√ρ` and the Hessians `ρ`.
public protocol Loss<Scalar>: Sendable {
    associatedtype Scalar: TensorScalar

    /// The `torch.nn` class name.
    var typeName: String { get }
    var reduction: Reduction { get }

    /// `L`; throws ``LossError/nonFinite(loss:value:)`` for NaN or infinity.
    func value(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Scalar

    /// `∂L/∂f`, shaped like the output.
    func gradient(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar>

    /// An exact symmetric factor `S: [V, N', *f]` with `Σ_v S[v, n] S[v, n]ᵀ = ∇²_{fₙ} L`, for the
    /// samples in `subsampling` (all when `nil`).
    func hessianFactor(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar>

    /// A Monte Carlo factor `[M, N', *f]` whose outer products estimate `∇²_{fₙ} L` without bias,
    /// from `samples` labels drawn from the model's predictive distribution.
    func sampledHessianFactor(
        _ output: Tensor<Scalar>, samples: Int, stream: inout RandomStream, subsampling: [Int]?
    ) throws -> Tensor<Scalar>

    /// `Σₙ ∇²_{fₙ} L` over features per sample, `[D, D]`.
    func batchSummedHessian(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar>

    /// `∇²_{fₙ} L · mₙ` for a stack `m: [V, N, *f]`.
    func hessianProduct(_ m: Tensor<Scalar>, output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar>
}

/// Errors that name the loss and the problem.
public enum LossError: Error, Equatable, Sendable, CustomStringConvertible {
    case nonFinite(loss: String, value: Double)
    case invalidTarget(loss: String, reason: String)
    case invalidArgument(loss: String, reason: String)

    public var description: String {
        switch self {
        case let .nonFinite(loss, value): "\(loss): the loss is \(value); check the inputs and weights for NaN or infinity"
        case let .invalidTarget(loss, reason): "\(loss): invalid target: \(reason)"
        case let .invalidArgument(loss, reason): "\(loss): \(reason)"
        }
    }
}

extension Loss {
    /// `value` checked for NaN and infinity.
    func finite(_ value: Scalar) throws -> Scalar {
        guard value.isFinite else { throw LossError.nonFinite(loss: typeName, value: Double(value)) }
        return value
    }

    /// The value targets, checked to have the output's shape.
    func valueTargets(_ target: LossTarget<Scalar>, like output: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard case let .values(values) = target else {
            throw LossError.invalidTarget(loss: typeName, reason: "expects float targets shaped like the output \(output.shape), got class indices")
        }
        guard values.shape == output.shape else {
            throw LossError.invalidTarget(
                loss: typeName,
                reason: "target shape \(values.shape) differs from output shape \(output.shape) (PyTorch would broadcast them with a warning; Rucksack does not)")
        }
        return values
    }

    /// For element-wise losses: `S[v, n, d] = δ_vd · root[n, d]`, a diagonal factor `[D, N', *f]`.
    func diagonalFactor(_ root: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Tensor.diagonalStack(root)
    }

    /// Checks a stack `[V, N, *f]` against the output.
    func checkStack(_ m: Tensor<Scalar>, output: Tensor<Scalar>) throws {
        guard m.rank == output.rank + 1, Array(m.shape.dropFirst()) == output.shape else {
            throw LossError.invalidArgument(loss: typeName, reason: "stack \(m.shape) does not fit output \(output.shape)")
        }
    }
}
