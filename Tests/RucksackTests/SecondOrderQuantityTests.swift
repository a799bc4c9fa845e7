import Rucksack
import RucksackTestSupport
import Testing

/// The losses the second-order tests run, each with targets for a model output `[N, *f]`.
struct CurvatureLoss: Sendable, CustomStringConvertible {
    var name: String
    var make: @Sendable (Reduction) -> any Loss<Double>
    var target: @Sendable ([Int], inout TestData) -> LossTarget<Double>
    var description: String { name }

    static let crossEntropy = CurvatureLoss(name: "cross-entropy", make: { CrossEntropyLoss(reduction: $0) }) { shape, _ in
        // Classes on axis 1; the other axes are extra axes of the target.
        let targetShape = [shape[0]] + shape.dropFirst(2)
        let count = targetShape.reduce(1, *)
        return .classes(shape: targetShape, indices: (0..<count).map { ($0 * 7 + 1) % shape[1] })
    }
    static let mse = CurvatureLoss(name: "mse", make: { MSELoss(reduction: $0) }) { shape, data in .values(data.tensor(shape)) }
    static let bce = CurvatureLoss(name: "bce-with-logits", make: { BCEWithLogitsLoss(reduction: $0) }) { shape, data in
        .values(try! Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Double($0 % 2) }))
    }
}

/// Networks for the second-order tests beyond ``QuantityProblem/all``: pooling and padding,
/// every curved activation, cross-entropy over extra axes.
enum CurvatureProblems {
    static let extra: [QuantityProblem] = [
        QuantityProblem(name: "convolution, padding, max and average pooling") { data in
            let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [2, 2]), weight: data.tensor([2, 1, 2, 2]), bias: data.tensor([2]))
            return (Model(.sequential([
                .layer(conv), .layer(try ConstantPad<Double>(torchPadding: [1, 0, 0, 1], typeName: "ZeroPad2d")), .layer(Tanh()),
                .layer(try MaxPool<Double>(PoolingWindow(kernelSize: [2, 2], stride: [1, 1]))),
                .layer(try AvgPool<Double>(PoolingWindow(kernelSize: [2, 2], stride: [1, 1], padding: [1, 1]))),
                .layer(try AdaptiveAvgPool<Double>(outputSize: [2, 2])),
            ] + (try QuantityProblem.head(8, &data)))), [3, 1, 4, 4])
        },
        QuantityProblem(name: "every curved activation") { data in
            let activations: [any Layer<Double>] = [Sigmoid(), Tanh(), LogSigmoid(), ELU(alpha: 0.7), SELU(), Softplus(beta: 2), GELU(), SiLU()]
            var layers: [ModelNode<Double>] = []
            for activation in activations {
                layers += [.layer(try Linear(weight: data.tensor([3, 3]), bias: data.tensor([3]))), .layer(activation)]
            }
            return (Model(.sequential(layers + (try QuantityProblem.head(3, &data)))), [3, 3])
        },
        QuantityProblem(name: "ConvTranspose3d, strided and padded") { data in
            let geometry = try ConvolutionGeometry(kernelSize: [2, 1, 2], stride: [2, 1, 1], padding: [0, 0, 1], transposed: true)
            let conv = try Convolution<Double>(geometry: geometry, weight: data.tensor([2, 2, 2, 1, 2]), bias: data.tensor([2]))
            let outSize = try geometry.outputSize(inputSize: [2, 1, 3])
            return (Model(.sequential([.layer(conv), .layer(Softplus())] + (try QuantityProblem.head(2 * outSize.reduce(1, *), &data)))), [4, 2, 2, 1, 3])
        },
        QuantityProblem(name: "cross-entropy over extra axes of a Conv1d output") { data in
            let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [2]), weight: data.tensor([3, 2, 2]), bias: data.tensor([3]))
            return (Model(.sequential([.layer(try Linear(weight: data.tensor([4, 4]), bias: nil)), .layer(Sigmoid()), .layer(conv)])), [3, 2, 4])
        },
    ]
}

@Suite("second-order quantities")
struct SecondOrderQuantityTests {
    static let tolerance = Tolerance(relative: 1e-9, absolute: 1e-12)

    /// Every problem of the first-order tests whose dense matrices stay small (the random
    /// ConvTranspose3d draw has 3343 parameters; a smaller one is in ``CurvatureProblems``).
    static let problems = QuantityProblem.all.filter { $0.name != "ConvTranspose3d draw 5" } + CurvatureProblems.extra

    @Test("GGN and Hessian diagonals, per sample too, and GGN square roots equal dense brute-force references, for both reductions",
          arguments: problems)
    func exactQuantities(_ problem: QuantityProblem) throws {
        try checkExactQuantities(problem)
    }

    /// Blocks of a few elements: one or two samples and columns at a time, many blocks per layer.
    @Test("The diagonals read out in small blocks of samples and columns equal the dense references",
          arguments: problems.filter { $0.name.contains("Conv") || $0.name.contains("convolution") || $0.name.contains("extra axes") })
    func blockedReadOuts(_ problem: QuantityProblem) throws {
        try ColumnGradientBlocks.$elements.withValue(5) { try checkExactQuantities(problem) }
    }

    func checkExactQuantities(_ problem: QuantityProblem) throws {
        var data = TestData(seed: 70)
        let (model, inputShape) = try problem.make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let output = try model(input)
        // Cross-entropy everywhere; the other losses on the smaller problems.
        let losses: [CurvatureLoss] = problem.name.contains("extra axes of a Conv1d") || problem.name == "residual network"
            ? [.crossEntropy] : [.crossEntropy, .mse, .bce]
        let subsampling = [2, 0, 0, 1]
        for curvatureLoss in losses {
            let target = curvatureLoss.target(output.shape, &data)
            // The references for `sum`; those for `mean` are ρ times them, ρ = mean / sum of the loss.
            let dense = try DenseCurvature(model, input: input, target: target, loss: curvatureLoss.make(.sum))
            let rho = try curvatureLoss.make(.mean).value(output, target) / curvatureLoss.make(.sum).value(output, target)
            for reduction in Reduction.allCases {
                let scale = reduction == .sum ? 1 : rho
                let loss = curvatureLoss.make(reduction)
                let quantities: [any Quantity<Double>] = [
                    DiagGGNExact(), BatchDiagGGNExact(), DiagHessian(), BatchDiagHessian(), SqrtGGNExact(), SqrtGGNExact(subsampling: subsampling),
                ]
                let results = try model.compute(quantities, input: input, target: target, loss: loss)
                for name in model.parameterNames {
                    let what = "\(name) with \(curvatureLoss) \(reduction)"
                    let size = dense.ranges[name]!.count
                    func check(_ actual: [Double], _ expected: [Double], _ field: String) {
                        expectClose(actual, expected.map { $0 * scale }, Self.tolerance, "\(field) of \(what)")
                    }
                    check(try #require(results[DiagGGNExact(), name]).scalars, dense.diagonal(dense.ggn, name), "diag_ggn_exact")
                    check(try #require(results[BatchDiagGGNExact(), name]).scalars, dense.sampleGGN.flatMap { dense.diagonal($0, name) }, "diag_ggn_exact_batch")
                    check(try #require(results[DiagHessian(), name]).scalars, dense.diagonal(dense.hessian, name), "diag_h")
                    check(try #require(results[BatchDiagHessian(), name]).scalars, dense.sampleHessian.flatMap { dense.diagonal($0, name) }, "diag_h_batch")
                    let root = try #require(results[SqrtGGNExact(), name])
                    #expect(Array(root.shape.dropFirst()) == [inputShape[0]] + (try model.parameter(name).shape))
                    check(try root.gram(columns: size), dense.block(dense.ggn, name), "sqrt_ggn_exact")
                    let sampled = try #require(results[SqrtGGNExact(subsampling: subsampling), name])
                    #expect(sampled.shape[1] == subsampling.count)
                    check(try sampled.gram(columns: size), dense.block(DenseCurvature.sum(subsampling.map { dense.sampleGGN[$0] }), name),
                          "sub-sampled sqrt_ggn_exact")
                }
            }
        }
    }
}
