/// Conjugate gradients for `A x = b` with a symmetric positive definite `A` given by its
/// product (bpexts spec §5.1, the textbook iteration), with the guards bpexts lacks: a bounded
/// number of iterations, a stop on non-positive curvature, and a zero right-hand side.
public enum ConjugateGradients {
    /// Why the iteration stopped.
    public enum Stop: String, Sendable, Equatable {
        /// `‖r‖ ≤ max(relativeTolerance · ‖b‖, absoluteTolerance)`.
        case converged
        /// `maxIterations` products without reaching the tolerance.
        case iterationLimit
        /// A search direction with `pᵀ A p ≤ 0`: `A` is not positive definite there, and the
        /// iterate reached before it is returned (as Hessian-free optimisation does).
        case nonPositiveCurvature
    }

    /// A solution with how it was reached.
    public struct Solution<Scalar: TensorScalar>: Sendable {
        public var x: Tensor<Scalar>
        /// Products with `A` in the loop (the initial residual of a warm start takes one more).
        public var iterations: Int
        public var stop: Stop
        /// `‖b − A x‖` as the recurrence tracks it.
        public var residualNorm: Scalar
    }

    /// Solves `A x = b` for vectors of any shape (flattened for the inner products).
    ///
    /// Starts from `initialGuess` (a warm start) or zero, and stops once
    /// `‖r‖ ≤ max(relativeTolerance · ‖b‖, absoluteTolerance)`, after `maxIterations` products
    /// (default: the dimension, where exact arithmetic would have converged), or at non-positive
    /// curvature. A zero `b` with no initial guess returns zero without a product.
    public static func solve<Scalar: TensorScalar>(
        _ apply: (Tensor<Scalar>) throws -> Tensor<Scalar>, _ b: Tensor<Scalar>, initialGuess: Tensor<Scalar>? = nil,
        relativeTolerance: Scalar = 1e-5, absoluteTolerance: Scalar = 0, maxIterations: Int? = nil
    ) throws -> Solution<Scalar> {
        guard relativeTolerance >= 0, absoluteTolerance >= 0, (maxIterations ?? 0) >= 0 else {
            throw QuantityError.invalidArgument(quantity: "conjugate gradients", reason: "tolerances and the iteration limit must be non-negative")
        }
        if let initialGuess, initialGuess.shape != b.shape {
            throw QuantityError.invalidArgument(quantity: "conjugate gradients", reason: "initial guess of shape \(initialGuess.shape) for a right-hand side of shape \(b.shape)")
        }
        func dot(_ u: Tensor<Scalar>, _ v: Tensor<Scalar>) throws -> Scalar { try (u * v).sum().scalars[0] }
        func product(_ v: Tensor<Scalar>) throws -> Tensor<Scalar> {
            let result = try apply(v)
            guard result.shape == b.shape else {
                throw QuantityError.invalidArgument(quantity: "conjugate gradients", reason: "the product returned shape \(result.shape) for a vector of shape \(b.shape)")
            }
            return result
        }
        let bound = Swift.max(relativeTolerance * (try dot(b, b)).squareRoot(), absoluteTolerance)
        var x = try initialGuess ?? Tensor(zeros: b.shape)
        var r = try initialGuess.map { try b - product($0) } ?? b
        var squared = try dot(r, r)
        let limit = maxIterations ?? b.count
        var iterations = 0
        var direction = r
        while squared.squareRoot() > bound {
            guard iterations < limit else { return Solution(x: x, iterations: iterations, stop: .iterationLimit, residualNorm: squared.squareRoot()) }
            let ap = try product(direction)
            let curvature = try dot(direction, ap)
            iterations += 1
            guard curvature > 0 else { return Solution(x: x, iterations: iterations, stop: .nonPositiveCurvature, residualNorm: squared.squareRoot()) }
            let step = squared / curvature
            x = try x + direction * step
            r = try r - ap * step
            let next = try dot(r, r)
            direction = try r + direction * (next / squared)
            squared = next
        }
        return Solution(x: x, iterations: iterations, stop: .converged, residualNorm: squared.squareRoot())
    }
}
