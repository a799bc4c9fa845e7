/// The gradient step of DP-SGD (Abadi et al., "Deep Learning with Differential Privacy", 2016),
/// built from individual gradients and their norms: clip every sample's gradient (over all
/// parameters together) to norm at most `clipNorm`, add Gaussian noise of deviation
/// `noiseMultiplier · clipNorm` to their sum, and divide by the batch size.
///
/// Compute the individual gradients with `reduction: .sum`, so that they are the raw per-sample
/// gradients the clipping norm refers to (with `.mean` they carry a factor `1/N`).
public struct PrivateGradient<Scalar: TensorScalar>: Sendable {
    public var clipNorm: Scalar
    public var noiseMultiplier: Scalar

    public init(clipNorm: Scalar, noiseMultiplier: Scalar) throws {
        guard clipNorm > 0, noiseMultiplier >= 0 else {
            throw QuantityError.invalidArgument(quantity: "DP-SGD", reason: "needs a positive clipping norm and a non-negative noise multiplier")
        }
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
    }

    /// The quantities ``privatize(_:parameters:stream:)`` reads.
    public var quantities: [any Quantity<Scalar>] { [BatchGrad<Scalar>(), BatchL2Grad<Scalar>()] }

    /// The privatised gradient per parameter name, from results that hold ``quantities``.
    public func privatize(_ results: BackpropResults<Scalar>, parameters: [String], stream: inout RandomStream) throws -> [String: Tensor<Scalar>] {
        guard let first = parameters.first, let norms = results[BatchL2Grad<Scalar>(), first] else {
            throw QuantityError.invalidArgument(quantity: "DP-SGD", reason: "the results lack batch_l2; compute `quantities` first")
        }
        var squaredNorms = try Tensor<Scalar>(zeros: norms.shape)
        for name in parameters {
            guard let l2 = results[BatchL2Grad<Scalar>(), name] else {
                throw QuantityError.invalidArgument(quantity: "DP-SGD", reason: "batch_l2 of \(name) is missing")
            }
            squaredNorms = try squaredNorms + l2
        }
        // Scale sample n by min(1, C / ‖gₙ‖).
        let scales = squaredNorms.map { Swift.min(1, clipNorm / Swift.max($0.squareRoot(), .leastNormalMagnitude)) }
        let samples = scales.count
        var gradients: [String: Tensor<Scalar>] = [:]
        for name in parameters {
            guard let individual = results[BatchGrad<Scalar>(), name] else {
                throw QuantityError.invalidArgument(quantity: "DP-SGD", reason: "grad_batch of \(name) is missing")
            }
            let clipped = try individual * scales.reshaped([samples] + [Int](repeating: 1, count: individual.rank - 1))
            let noise: Tensor<Scalar> = try stream.normal(shape: Array(individual.shape.dropFirst()), standardDeviation: noiseMultiplier * clipNorm)
            gradients[name] = try (clipped.sum(axes: [0]) + noise) / Scalar(Swift.max(samples, 1))
        }
        return gradients
    }
}
