/// `torch.nn.CrossEntropyLoss` with class-index targets: output `[N, C, *d]`, target `[N, *d]`,
/// `ρ = 1/(N·∏d)` for `mean`. Positions along the extra axes count as independent samples.
public struct CrossEntropyLoss<Scalar: TensorScalar>: Loss {
    public var reduction: Reduction
    public init(reduction: Reduction = .mean) { self.reduction = reduction }
    public var typeName: String { "CrossEntropyLoss" }

    /// The output viewed as `[N, P, C]` (positions, then classes).
    private func classesLast(_ output: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard output.rank >= 2 else {
            throw LossError.invalidArgument(loss: typeName, reason: "output \(output.shape) needs [N, C, *d]")
        }
        return try output.reshaped([output.shape[0], output.shape[1], -1]).permuted([0, 2, 1])
    }

    /// Inverse of ``classesLast(_:)`` for a tensor with leading axes `lead`.
    private func classesSecond(_ t: Tensor<Scalar>, lead: [Int], like output: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let l = lead.count
        return try t.permuted(Array(0..<l) + [l, l + 2, l + 1]).reshaped(lead + output.shape)
    }

    private func scale(_ output: Tensor<Scalar>) -> Scalar {
        reduction == .sum ? 1 : 1 / Scalar(Swift.max(output.count / Swift.max(output.shape[1], 1), 1))
    }

    private func classIndices(_ target: LossTarget<Scalar>, for output: Tensor<Scalar>) throws -> [Int] {
        guard case let .classes(shape, indices) = target else {
            throw LossError.invalidTarget(
                loss: typeName, reason: "expects class indices; soft-label (class-probability) targets are not supported")
        }
        var expected = output.shape
        expected.remove(at: 1)
        guard shape == expected, indices.count == expected.reduce(1, *) else {
            throw LossError.invalidTarget(loss: typeName, reason: "target shape \(shape) does not fit output \(output.shape); expected \(expected)")
        }
        if indices.contains(-100) {
            throw LossError.invalidTarget(
                loss: typeName, reason: "target -100 is PyTorch's default ignore_index; ignoring targets is not supported")
        }
        if let bad = indices.first(where: { $0 < 0 || $0 >= output.shape[1] }) {
            throw LossError.invalidTarget(loss: typeName, reason: "class \(bad) is outside 0..<\(output.shape[1])")
        }
        return indices
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func value(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Scalar {
        let classes = output.shape.count > 1 ? output.shape[1] : 0
        let logProbabilities = try classesLast(output).logSoftmax(axis: -1).scalars
        let total = try classIndices(target, for: output).enumerated().reduce(Scalar(0)) { sum, item in
            sum - logProbabilities[item.offset * classes + item.element]
        }
        return try finite(scale(output) * total)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradient(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        let indices = try classIndices(target, for: output)
        let probabilities = try classesLast(output).softmax(axis: -1)
        let classes = output.shape[1]
        var oneHot = [Scalar](repeating: 0, count: probabilities.count)
        for (row, c) in indices.enumerated() { oneHot[row * classes + c] = 1 }
        let difference = try probabilities - Tensor(shape: probabilities.shape, scalars: oneHot)
        return try classesSecond(difference * scale(output), lead: [], like: output)
    }

    /// Per position `S[v, c] = √ρ (δ_vc √p_c − √p_v p_c)`, so that `SᵀS = ρ (diag p − p pᵀ)`;
    /// positions are embedded block-diagonally, `v = c′ · P + position`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func hessianFactor(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>, subsampling: [Int]?) throws -> Tensor<Scalar> {
        let p = try classesLast(output.samples(subsampling)).softmax(axis: -1)
        let (samples, positions, classes) = (p.shape[0], p.shape[1], p.shape[2])
        let root = Scalar.sqrt(scale(output))
        // Built as [V = C·P, N', P, C], then reordered like the output.
        var factor = [Scalar](repeating: 0, count: classes * positions * samples * positions * classes)
        for n in 0..<samples {
            for position in 0..<positions {
                let row = (n * positions + position) * classes
                for v in 0..<classes {
                    let tauV = Scalar.sqrt(p.scalars[row + v])
                    let stack = ((v * positions + position) * samples + n) * positions + position
                    for c in 0..<classes {
                        let diagonal: Scalar = v == c ? tauV : 0
                        factor[stack * classes + c] = root * (diagonal - tauV * p.scalars[row + c])
                    }
                }
            }
        }
        let stacked = try Tensor(shape: [classes * positions, samples, positions, classes], scalars: factor)
        return try classesSecond(stacked, lead: [classes * positions], like: output.samples(subsampling))
    }

    /// Labels `ŷ ~ Categorical(p)` per position make `p − onehot(ŷ)` an unbiased square root.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sampledHessianFactor(
        _ output: Tensor<Scalar>, samples: Int, stream: inout RandomStream, subsampling: [Int]?
    ) throws -> Tensor<Scalar> {
        let rows = try output.samples(subsampling)
        let p = try classesLast(rows).softmax(axis: -1)
        let classes = p.shape[2]
        var columns: [Scalar] = []
        columns.reserveCapacity(samples * p.count)
        for _ in 0..<samples {
            let labels = try stream.categorical(probabilities: p)
            var draw = p.scalars
            for (row, c) in labels.enumerated() { draw[row * classes + c] -= 1 }
            columns += draw
        }
        let stacked = try Tensor(shape: [samples] + p.shape, scalars: columns) * Scalar.sqrt(scale(output) / Scalar(samples))
        return try classesSecond(stacked, lead: [samples], like: rows)
    }

    /// Block-diagonal over positions, `ρ Σₙ (diag pₙ − pₙ pₙᵀ)` per block, features ordered like the output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func batchSummedHessian(_ output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        let p = try classesLast(output).softmax(axis: -1)
        let (samples, positions, classes) = (p.shape[0], p.shape[1], p.shape[2])
        let features = classes * positions
        var hessian = [Scalar](repeating: 0, count: features * features)
        for n in 0..<samples {
            for position in 0..<positions {
                let row = (n * positions + position) * classes
                for c in 0..<classes {
                    for d in 0..<classes {
                        let value = (c == d ? p.scalars[row + c] : 0) - p.scalars[row + c] * p.scalars[row + d]
                        hessian[(c * positions + position) * features + d * positions + position] += scale(output) * value
                    }
                }
            }
        }
        return try Tensor(shape: [features, features], scalars: hessian)
    }

    public func hessianProduct(_ m: Tensor<Scalar>, output: Tensor<Scalar>, _ target: LossTarget<Scalar>) throws -> Tensor<Scalar> {
        try checkStack(m, output: output)
        let v = m.shape[0]
        let p = try classesLast(output).softmax(axis: -1)  // [N, P, C]
        let stacked = try m.reshaped([v * output.shape[0], output.shape[1], -1]).permuted([0, 2, 1])
            .reshaped([v] + p.shape)
        let weighted = try stacked * p
        let projection = try weighted.sum(axes: [3], keepingAxes: true)
        let product = try (weighted - p * projection) * scale(output)
        return try classesSecond(product, lead: [v], like: output)
    }
}
