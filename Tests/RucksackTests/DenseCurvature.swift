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

    init(_ model: Model<Double>, input: Tensor<Double>, target: LossTarget<Double>, loss: any Loss<Double>, hessian withHessian: Bool = true) throws {
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
        let allGradients = try FiniteDifferences.jacobian({ theta in
            try FirstOrderQuantityTests.perSampleGradients(with(theta), input, target, loss).flatMap { gradients in names.flatMap { gradients[$0]!.scalars } }
        }, at: theta, step: 2e-4)
        let perSample = (0..<n).map { Array(allGradients[($0 * p)..<(($0 + 1) * p)]) }
        sampleHessian = perSample
        hessian = Self.sum(perSample)
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
