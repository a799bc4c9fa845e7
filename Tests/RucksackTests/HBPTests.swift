import Foundation
import Rucksack
import RucksackTestSupport
import Testing

@Suite("Hessian backpropagation (HBP)")
struct HBPTests {
    static let tolerance = Tolerance(relative: 1e-10, absolute: 1e-13)

    /// Every curvature kind with every pair of approximation switches.
    static let modes: [(CurvatureKind, Bool, Bool)] = CurvatureKind.allCases.flatMap { kind in
        [(true, true), (true, false), (false, true), (false, false)].map { (kind, $0.0, $0.1) }
    }

    static func exact(_ kind: CurvatureKind) -> any Quantity<Double> {
        switch kind {
        case .hessian: HMP<Double>()
        case .ggn: GGNMP<Double>()
        case .pchAbs: PCHMP<Double>(modification: .abs)
        case .pchClip: PCHMP<Double>(modification: .clip)
        }
    }

    @Test("for one sample every mode equals the exact block of its curvature", arguments: SecondOrderQuantityTests.problems)
    func exactForOneSample(_ problem: QuantityProblem) throws {
        var data = TestData(seed: 90)
        let (model, inputShape) = try problem.make(&data)
        let input: Tensor<Double> = data.tensor([1] + inputShape.dropFirst())
        let output = try model(input)
        for curvatureLoss in [CurvatureLoss.crossEntropy, .mse] {
            let target = curvatureLoss.target(output.shape, &data)
            let loss = curvatureLoss.make(.mean)
            let approximations = Self.modes.map { HBP<Double>(curvature: $0.0, averageInputJacobian: $0.1, averageParameterJacobian: $0.2) }
            let quantities: [any Quantity<Double>] = approximations + CurvatureKind.allCases.map(Self.exact)
            let results = try model.compute(quantities, input: input, target: target, loss: loss)
            for name in model.parameterNames {
                for hbp in approximations {
                    let exact = try #require(results.block(of: Self.exact(hbp.curvature), name)).denseMatrix()
                    let approximate = try #require(results[hbp, name]).denseMatrix()
                    expectClose(approximate.scalars, exact.scalars, Self.tolerance, "\(name) \(hbp) with \(curvatureLoss)")
                }
            }
        }
    }

    @Test("GGN and PCH blocks are symmetric positive semi-definite and Hessian blocks symmetric for several samples; one chunk is no split")
    func structure() throws {
        var data = TestData(seed: 91)
        for problem in SecondOrderQuantityTests.problems where ["convolution, padding, max and average pooling", "every curved activation", "residual network"].contains(problem.name) {
            let (model, inputShape) = try problem.make(&data)
            let input: Tensor<Double> = data.tensor(inputShape)
            let target = CurvatureLoss.crossEntropy.target(try model(input).shape, &data)
            let approximations = Self.modes.map { HBP<Double>(curvature: $0.0, averageInputJacobian: $0.1, averageParameterJacobian: $0.2) }
            let unsplit = approximations.map { hbp in var split = hbp; split.maxBlocks = 1; return split }
            let results = try model.compute(approximations + unsplit, input: input, target: target, loss: CrossEntropyLoss())
            for name in model.parameterNames {
                for (hbp, split) in zip(approximations, unsplit) {
                    let block = try #require(results[hbp, name]).denseMatrix()
                    let scale = block.scalars.map(Swift.abs).max() ?? 0
                    expectClose(block.scalars, (try block.transposed()).scalars, Tolerance(relative: 1e-12, absolute: 0), "\(problem) \(name) \(hbp) symmetric")
                    #expect(try #require(results[split, name]).denseMatrix().scalars == block.scalars, "\(problem) \(name) maxBlocks 1")
                    guard hbp.curvature != .hessian else { continue }
                    let smallest = try block.symmetricEigendecomposition(backend: .builtin).eigenvalues.scalars.first ?? 0
                    #expect(smallest >= -1e-10 * scale, "\(problem) \(name) \(hbp): smallest eigenvalue \(smallest) of a block up to \(scale)")
                }
            }
        }
    }
}

extension BackpropResults where Scalar == Double {
    /// The curvature block of a quantity given as an existential.
    func block(of quantity: any Quantity<Double>, _ parameter: String) -> CurvatureBlock<Double>? {
        func typed<Q: Quantity<Double>>(_ quantity: Q) -> CurvatureBlock<Double>? { self[quantity, parameter] as? CurvatureBlock<Double> }
        return typed(quantity)
    }
}

/// The HBP formulas of the spec (§1.2.2, §1.2.3, §1.3, §1.4) written out for
/// `Linear → Sigmoid → Linear → Tanh → Linear` on plain arrays: the reference for several samples.
struct LiteralHBP {
    typealias Matrix = [[Double]]
    var weights: [Matrix]
    var biases: [[Double]]

    static func times(_ a: Matrix, _ b: Matrix) -> Matrix {
        a.map { row in b[0].indices.map { j in row.indices.reduce(0) { $0 + row[$1] * b[$1][j] } } }
    }
    static func transpose(_ a: Matrix) -> Matrix { a[0].indices.map { j in a.map { $0[j] } } }
    static func mean(_ rows: Matrix) -> [Double] { rows[0].indices.map { j in rows.reduce(0) { $0 + $1[j] } / Double(rows.count) } }
    static func meanOuter(_ rows: Matrix) -> Matrix {
        rows[0].indices.map { i in rows[0].indices.map { j in rows.reduce(0) { $0 + $1[i] * $1[j] } / Double(rows.count) } }
    }

    /// The blocks `[name: row-major dense matrix]` for input rows `x`, the output Hessian `H̄_f`
    /// and the output gradient `g_f` (rows per sample).
    func blocks(x: Matrix, outputHessian: Matrix, outputGradient: Matrix, kind: CurvatureKind, averageInput: Bool, averageParameter: Bool) -> [String: [Double]] {
        let sigmoid: (Double) -> Double = { 1 / (1 + Foundation.exp(-$0)) }
        var inputs: [Matrix] = [x]  // the input of each linear layer
        var pre: [Matrix] = []      // the input of each activation
        for layer in 0..<2 {
            let z = Self.times(inputs[layer], Self.transpose(weights[layer])).map { zip($0, biases[layer]).map(+) }
            pre.append(z)
            inputs.append(z.map { $0.map(layer == 0 ? sigmoid : { Foundation.tanh($0) }) })
        }
        func slopes(_ layer: Int) -> (first: Matrix, second: Matrix) {
            let y = inputs[layer + 1]
            let first = y.map { $0.map { layer == 0 ? $0 * (1 - $0) : 1 - $0 * $0 } }
            let second = zip(y, first).map { zip($0, $1).map { a, d in layer == 0 ? d * (1 - 2 * a) : -2 * a * d } }
            return (first, second)
        }
        var result: [String: [Double]] = [:]
        var hessian = outputHessian, gradient = outputGradient  // at the output of linear layer `layer`
        for layer in stride(from: 2, through: 0, by: -1) {
            let name = "\(2 * layer)."
            let a = averageParameter ? { let m = Self.mean(inputs[layer]); return m.map { u in m.map { u * $0 } } }() : Self.meanOuter(inputs[layer])
            result[name + "bias"] = hessian.flatMap { $0 }
            result[name + "weight"] = hessian.indices.flatMap { o in a.indices.flatMap { i in hessian.indices.flatMap { p in a.indices.map { j in hessian[o][p] * a[i][j] } } } }
            guard layer > 0 else { break }
            // Through the linear layer, then the activation before it.
            let w = weights[layer]
            let atActivation = Self.times(Self.times(Self.transpose(w), hessian), w)
            let activationGradient = Self.times(gradient, w)
            let (first, second) = slopes(layer - 1)
            let meanSlope = Self.mean(first)
            var next = atActivation.indices.map { i in atActivation.indices.map { j in
                atActivation[i][j] * (averageInput ? meanSlope[i] * meanSlope[j] : first.reduce(0) { $0 + $1[i] * $1[j] } / Double(first.count))
            } }
            let residual = atActivation.indices.map { i in zip(second, activationGradient).reduce(0) { $0 + $1.0[i] * $1.1[i] } }
            for i in residual.indices {
                switch kind {
                case .hessian: next[i][i] += residual[i]
                case .ggn: break
                case .pchAbs: next[i][i] += Swift.abs(residual[i])
                case .pchClip: next[i][i] += Swift.max(residual[i], 0)
                }
            }
            hessian = next
            gradient = zip(activationGradient, first).map { zip($0, $1).map(*) }
        }
        return result
    }
}

extension HBPTests {
    @Test("for several samples the blocks follow the spec's formulas, written out in a literal reference, in every mode, for cross-entropy and MSE")
    func literalFormulas() throws {
        var data = TestData(seed: 92)
        let shapes = [[4, 3], [4, 4], [2, 4]]
        let literal = LiteralHBP(
            weights: shapes.map { shape in let t: Tensor<Double> = data.tensor(shape); return (0..<shape[0]).map { Array(t.scalars[($0 * shape[1])..<(($0 + 1) * shape[1])]) } },
            biases: shapes.map { (data.tensor([$0[0]]) as Tensor<Double>).scalars })
        let layers: [any Layer<Double>] = try [
            Linear(weight: Tensor(shape: shapes[0], scalars: literal.weights[0].flatMap { $0 }), bias: Tensor(shape: [4], scalars: literal.biases[0])), Sigmoid(),
            Linear(weight: Tensor(shape: shapes[1], scalars: literal.weights[1].flatMap { $0 }), bias: Tensor(shape: [4], scalars: literal.biases[1])), Tanh(),
            Linear(weight: Tensor(shape: shapes[2], scalars: literal.weights[2].flatMap { $0 }), bias: Tensor(shape: [2], scalars: literal.biases[2])),
        ]
        let model = Model(sequential: layers)
        let input: Tensor<Double> = data.tensor([5, 3])
        let rows = (0..<5).map { Array(input.scalars[($0 * 3)..<(($0 + 1) * 3)]) }
        let output = try model(input)
        for (curvatureLoss, reduction) in [(CurvatureLoss.crossEntropy, Reduction.mean), (.mse, .sum)] {
            let loss = curvatureLoss.make(reduction)
            let target = curvatureLoss.target(output.shape, &data)
            let outputHessian = try loss.batchSummedHessian(output, target)
            let gradient = try loss.gradient(output, target)
            for (kind, averageInput, averageParameter) in Self.modes {
                let hbp = HBP<Double>(curvature: kind, averageInputJacobian: averageInput, averageParameterJacobian: averageParameter)
                let results = try model.compute([hbp], input: input, target: target, loss: loss)
                let expected = literal.blocks(
                    x: rows, outputHessian: (0..<2).map { Array(outputHessian.scalars[($0 * 2)..<(($0 + 1) * 2)]) },
                    outputGradient: (0..<5).map { Array(gradient.scalars[($0 * 2)..<(($0 + 1) * 2)]) },
                    kind: kind, averageInput: averageInput, averageParameter: averageParameter)
                for name in model.parameterNames {
                    expectClose(try #require(results[hbp, name]).denseMatrix().scalars, try #require(expected[name]), Self.tolerance, "\(name) \(hbp) \(curvatureLoss)")
                }
            }
        }
    }

    @Test("maxBlocks cuts a parameter's rows into ⌈rows / maxBlocks⌉ chunks and keeps their diagonal blocks", arguments: [2, 3, 4, 5])
    func splitting(_ maxBlocks: Int) throws {
        var data = TestData(seed: 93)
        let layers: [any Layer<Double>] = [
            try Linear(weight: data.tensor([5, 3]), bias: data.tensor([5])), Sigmoid(), try Linear(weight: data.tensor([2, 5]), bias: data.tensor([2])),
        ]
        let model = Model(sequential: layers)
        let input: Tensor<Double> = data.tensor([4, 3])
        let target = LossTarget<Double>.classes(shape: [4], indices: [0, 1, 1, 0])
        let whole = HBP<Double>(curvature: .pchAbs)
        var split = whole
        split.maxBlocks = maxBlocks
        let results = try model.compute([whole, split], input: input, target: target, loss: CrossEntropyLoss<Double>())
        // torch.chunk: 5 rows in chunks of ⌈5 / maxBlocks⌉.
        let chunk = (5 + maxBlocks - 1) / maxBlocks
        for (name, columns) in [("0.weight", 3), ("0.bias", 1)] {
            let full = try #require(results[whole, name]).denseMatrix(), cut = try #require(results[split, name]).denseMatrix()
            let n = 5 * columns
            let expected: [Double] = (0..<(n * n)).map { index in
                let (i, j) = (index / n, index % n)
                return i / columns / chunk == j / columns / chunk ? full.scalars[index] : 0
            }
            expectClose(cut.scalars, expected, Self.tolerance, "\(name) with maxBlocks \(maxBlocks)")
        }
    }
}
