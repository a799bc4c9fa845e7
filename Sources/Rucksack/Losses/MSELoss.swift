/// `torch.nn.MSELoss`: `ρ Σ (f − y)²` with `ρ = 1/(N·D)` for `mean`.
public struct MSELoss<Scalar: TensorScalar>: Loss {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }
    public var typeName: String { "MSELoss" }

    /// `ρ`: one over all elements for `mean`.
    private func scale(_ output: Tensor<Scalar>) -> Scalar {
        reduction == .sum ? 1 : 1 / Scalar(Swift.max(output.count, 1))
    }

    public func value(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Scalar {
        let residual = try output - valueTargets(target, like: output)
        return try finite(scale(output) * residual.squared().sumOfElements())
    }

    public func gradient(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        try (output - valueTargets(target, like: output)) * (2 * scale(output))
    }

    public func hessianFactor(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        let rows = try output.samples(subsampling)
        return try diagonalFactor(Tensor(repeating: Scalar.sqrt(2 * scale(output)), shape: rows.shape))
    }

    /// Labels `ŷ ~ N(f, I/2)` make `2(ŷ − f)` an unbiased square root of the Hessian `2I`.
    public func sampledHessianFactor(
        _ output: Tensor<Scalar>, samples: Int, stream: inout RandomStream, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let rows = try output.samples(subsampling)
        let noise: Tensor<Scalar> = try stream.normal(shape: [samples] + rows.shape, standardDeviation: Scalar.sqrt(0.5))
        return noise * (2 * Scalar.sqrt(scale(output) / Scalar(samples)))
    }

    public func batchSummedHessian(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        let samples = output.shape.first ?? 0, features = output.count / Swift.max(samples, 1)
        return Tensor.identity(features) * (2 * scale(output) * Scalar(samples))
    }

    public func hessianProduct(_ m: Tensor<Scalar>, output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, output: output)
        return m * (2 * scale(output))
    }
}
