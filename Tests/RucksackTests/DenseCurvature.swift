import Rucksack
import RucksackTestSupport

/// Brute-force curvature of a Float64 model: dense matrices over all parameters, flattened in
/// `parameterNames` order, from Richardson-extrapolated finite differences of the model output
/// and of the gradient, with a small step for deep networks (both of which are checked against PyTorch elsewhere).
struct DenseCurvature {
    var names: [String]
    /// Each parameter's range in the flat vector.
    var ranges: [String: Range<Int>]
    /// The GGN `Σₙ Jₙᵀ ∇²_{fₙ}L Jₙ` and its per-sample terms.
    var ggn: [[Double]]
    var sampleGGN: [[[Double]]]
    /// The Hessian of `L` and its per-sample terms `∇²_θ (ρ ℓₙ)`.
    var hessian: [[Double]]
    var sampleHessian: [[[Double]]]

    /// Without `perSampleHessians`, the Hessian comes from differences of the batch gradient
    /// (cheaper) and ``sampleHessian`` stays empty.
    init(_ model: Model<Double>, input: Tensor<Double>, target: LossTarget<Double>, loss: any Loss<Double>,
         hessian withHessian: Bool = true, perSampleHessians: Bool = true) throws {
        names = model.parameterNames
        var offset = 0
        var ranges: [String: Range<Int>] = [:]
        var theta: [Double] = []
        for name in names {
            let p = try model.parameter(name)
            ranges[name] = offset..<(offset + p.count)
            offset += p.count
            theta += p.scalars
        }
        self.ranges = ranges
        let names = names
        func with(_ theta: [Double]) throws -> Model<Double> {
            var copy = model
            for name in names {
                let shape = try model.parameter(name).shape
                try copy.setParameter(name, to: Tensor(shape: shape, scalars: Array(theta[ranges[name]!])))
            }
            return copy
        }
        let output = try model(input)
        let n = input.shape[0], d = output.count / n
        let jacobian = try FiniteDifferences.jacobian({ try with($0)(input).scalars }, at: theta, step: 2e-4)
        let outputHessian = try FiniteDifferences.jacobian({ f in try loss.gradient(Tensor(shape: output.shape, scalars: f), target).scalars }, at: output.scalars)
        let p = theta.count
        sampleGGN = (0..<n).map { sample in
            let rows = (sample * d)..<((sample + 1) * d)
            return (0..<p).map { i in
                (0..<p).map { j in
                    rows.reduce(0) { total, a in total + rows.reduce(0) { $0 + jacobian[a][i] * outputHessian[a][$1] * jacobian[$1][j] } }
                }
            }
        }
        ggn = Self.sum(sampleGGN)
        guard withHessian else { (sampleHessian, hessian) = ([], []); return }
        guard perSampleHessians else {
            sampleHessian = []
            hessian = try FiniteDifferences.jacobian({ theta in
                let gradients = try with(theta).gradient(input, target, loss: loss).gradients
                return names.flatMap { gradients[$0]!.scalars }
            }, at: theta, step: 2e-4)
            return
        }
        let allGradients = try FiniteDifferences.jacobian({ theta in
            try FirstOrderQuantityTests.perSampleGradients(with(theta), input, target, loss).flatMap { gradients in names.flatMap { gradients[$0]!.scalars } }
        }, at: theta, step: 2e-4)
        let perSample = (0..<n).map { Array(allGradients[($0 * p)..<(($0 + 1) * p)]) }
        sampleHessian = perSample
        hessian = Self.sum(perSample)
    }

    /// The model with the flat parameter vector `theta`.
    func model(_ model: Model<Double>, with theta: [Double]) throws -> Model<Double> {
        var copy = model
        for name in names {
            let shape = try model.parameter(name).shape
            try copy.setParameter(name, to: Tensor(shape: shape, scalars: Array(theta[ranges[name]!])))
        }
        return copy
    }

    /// The residual terms of the Hessian by brute force: for every layer with a curved
    /// element-wise map, the residual `r = f''(x) ⊙ δ` per sample and feature (`δ` from a walk of
    /// transposed Jacobians) and the Jacobian of the layer input w.r.t. all parameters (finite
    /// differences). `∇²L = GGN + Σ Σₖ rₖ gₖ gₖᵀ` over them, which the tests check first.
    func residualTerms(_ model: Model<Double>, input: Tensor<Double>, target: LossTarget<Double>, loss: any Loss<Double>) throws
        -> [(residual: [Double], jacobian: [[Double]])] {
        func layerIO(_ model: Model<Double>) throws -> (io: [String: LayerIO<Double>], delta: [String: Tensor<Double>]) {
            let trace = try model.forward(input)
            var io: [String: LayerIO<Double>] = [:], delta: [String: Tensor<Double>] = [:]
            _ = try model.backward(trace, from: loss.gradient(trace.output, target).unsqueezed(at: 0), step: { visit, m in
                io[visit.path] = visit.io
                delta[visit.path] = try m.squeezed(at: 0)
                return try visit.layer.transposedJacobianProduct(m, io: visit.io)
            }, merge: { branches, _, _ in try branches.added() })
            return (io, delta)
        }
        /// Every curved layer's input, concatenated in path order.
        func curvedInputs(_ model: Model<Double>) throws -> [Double] {
            var inputs: [String: [Double]] = [:]
            _ = try model.backward(model.forward(input), from: 0, step: { visit, _ in
                if visit.layer.inputHessianStructure == .diagonal { inputs[visit.path] = visit.io.input.scalars }
                return 0
            }, merge: { _, _, _ in 0 })
            return inputs.keys.sorted().flatMap { inputs[$0]! }
        }
        let theta = try names.flatMap { try model.parameter($0).scalars }
        let (io, delta) = try layerIO(model)
        let layers = Dictionary(uniqueKeysWithValues: model.root.layers().map { ($0.path, $0.layer) })
        let jacobian = try FiniteDifferences.jacobian({ try curvedInputs(self.model(model, with: $0)) }, at: theta, step: 2e-4)
        let curved = io.keys.sorted().filter { io[$0]!.input.count > 0 && layers[$0]!.inputHessianStructure == .diagonal }
        var offset = 0
        return try curved.map { path in
            let residual = try layers[path]!.residualDiagonal(outputGradient: delta[path]!, io: io[path]!).scalars
            defer { offset += residual.count }
            return (residual, Array(jacobian[offset..<(offset + residual.count)]))
        }
    }

    /// `base + Σ Σₖ modify(rₖ) gₖ gₖᵀ` over residual terms.
    static func adding(_ terms: [(residual: [Double], jacobian: [[Double]])], to base: [[Double]], _ modify: (Double) -> Double) -> [[Double]] {
        var result = base
        for (residual, jacobian) in terms {
            for (k, r) in residual.enumerated() where r != 0 {
                let g = jacobian[k], weight = modify(r)
                for i in g.indices where g[i] != 0 {
                    for j in g.indices { result[i][j] += weight * g[i] * g[j] }
                }
            }
        }
        return result
    }

    static func sum(_ matrices: [[[Double]]]) -> [[Double]] {
        matrices.dropFirst().reduce(matrices[0]) { zip($0, $1).map { zip($0, $1).map(+) } }
    }

    /// The diagonal of `matrix` over the parameter `name`.
    func diagonal(_ matrix: [[Double]], _ name: String) -> [Double] { ranges[name]!.map { matrix[$0][$0] } }

    /// The block of `matrix` for the parameter `name`, row-major.
    func block(_ matrix: [[Double]], _ name: String) -> [Double] {
        let range = ranges[name]!
        return range.flatMap { i in range.map { matrix[i][$0] } }
    }
}

extension Tensor where Scalar == Double {
    /// `Σᵣ rᵣ rᵣᵀ` over the rows of the flattened stack `[R…, |θ|]` with `|θ| = columns`.
    func gram(columns: Int) throws -> [Double] {
        let rows = try reshaped([-1, columns])
        return try rows.matmul(rows, transposingSelf: true).scalars
    }
}
