/// `torch.nn.BCEWithLogitsLoss`: `ρ Σ [max(f, 0) − f y + log(1 + e^{−|f|})]`, `ρ = 1/numel` for `mean`.
public struct BCEWithLogitsLoss<Scalar: TensorScalar>: Loss {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }
    public var typeName: String { "BCEWithLogitsLoss" }

    private func scale(_ output: Tensor<Scalar>) -> Scalar {
        reduction == .sum ? 1 : 1 / Scalar(Swift.max(output.count, 1))
    }

    /// The targets; like PyTorch, any real values are accepted, not only probabilities.
    private func probabilities(_ target: LossTarget<Scalar>, like output: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try valueTargets(target, like: output)
    }

    public func value(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Scalar {
        let y = try probabilities(target, like: output)
        let terms = try output.zipWith(y) { f, y in Swift.max(f, 0) - f * y + .log(onePlus: .exp(-Swift.abs(f))) }
        return try finite(scale(output) * terms.sumOfElements())
    }

    public func gradient(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        try (output.sigmoid() - probabilities(target, like: output)) * scale(output)
    }

    /// The Hessian is diagonal, `ρ σ(f)(1 − σ(f))`.
    private func curvature(_ output: Tensor<Scalar>, scale: Scalar) -> Tensor<Scalar> {
        output.map { f in let s = Scalar.logistic(f); return scale * s * (1 - s) }
    }

    public func hessianFactor(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        try diagonalFactor(curvature(output.samples(subsampling), scale: scale(output)).sqrt())
    }

    /// Labels `ŷ ~ Bernoulli(σ(f))` make `σ(f) − ŷ` an unbiased square root of the Hessian.
    public func sampledHessianFactor(
        _ output: Tensor<Scalar>, samples: Int, stream: inout RandomStream, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let rows = try output.samples(subsampling)
        let p = try rows.sigmoid().unsqueezed(at: 0).expanded(to: [samples] + rows.shape)
        let labels = try stream.bernoulli(probabilities: p)
        return try (p - labels) * Scalar.sqrt(scale(output) / Scalar(samples))
    }

    public func batchSummedHessian(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        let samples = output.shape.first ?? 0, features = output.count / Swift.max(samples, 1)
        let diagonal = try curvature(output, scale: scale(output)).reshaped([samples, features]).sum(axes: [0])
        return Tensor.diagonal(diagonal.scalars)
    }

    public func hessianProduct(_ m: Tensor<Scalar>, output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, output: output)
        return try m * curvature(output, scale: scale(output))
    }
}
