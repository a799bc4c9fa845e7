import Rucksack
import RucksackTestSupport
import Testing

/// Networks without weight sharing, for the exactness of KFLR and KFRA at one sample.
enum KroneckerProblems {
    static let all: [QuantityProblem] = [
        QuantityProblem(name: "MLP") { data in
            (Model(.sequential([.layer(try Linear(weight: data.tensor([5, 4]), bias: data.tensor([5]))), .layer(Sigmoid()),
                                .layer(try Linear(weight: data.tensor([3, 5]), bias: data.tensor([3])))])), [1, 4])
        },
        QuantityProblem(name: "residual MLP") { data in
            (Model(.sequential([
                .layer(try Linear(weight: data.tensor([4, 3]), bias: data.tensor([4]))), .layer(Tanh()),
                .residual([.layer(try Linear(weight: data.tensor([4, 4]), bias: data.tensor([4]))), .layer(ELU()),
                           .layer(try Linear(weight: data.tensor([4, 4]), bias: nil))]),
                .layer(try Linear(weight: data.tensor([3, 4]), bias: data.tensor([3]))),
            ])), [1, 3])
        },
        QuantityProblem(name: "convolutions with one output position") { data in
            let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [3, 3]), weight: data.tensor([3, 2, 3, 3]), bias: data.tensor([3]))
            let pointwise = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [1, 1]), weight: data.tensor([3, 3, 1, 1]), bias: data.tensor([3]))
            return (Model(.sequential([.layer(conv), .layer(Softplus()), .layer(pointwise), .layer(Flatten())])), [1, 2, 3, 3])
        },
    ]
}

@Suite("Kronecker factors")
struct KroneckerQuantityTests {
    static let tolerance = Tolerance(relative: 1e-9, absolute: 1e-12)

    @Test("KFLR and KFRA equal the exact GGN block for one sample without weight sharing",
          arguments: KroneckerProblems.all, [CurvatureLoss.crossEntropy, .mse, .bce])
    func exactForOneSample(_ problem: QuantityProblem, loss curvatureLoss: CurvatureLoss) throws {
        var data = TestData(seed: 80)
        let (model, inputShape) = try problem.make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let target = curvatureLoss.target(try model(input).shape, &data)
        for reduction in Reduction.allCases {
            let loss = curvatureLoss.make(reduction)
            let dense = try DenseCurvature(model, input: input, target: target, loss: loss, hessian: false)
            let results = try model.compute([KFLR(), KFRA()], input: input, target: target, loss: loss)
            for name in model.parameterNames {
                let kflr = try #require(results[KFLR(), name]), kfra = try #require(results[KFRA(), name])
                #expect(kflr.blocks.map(\.count) == [(try model.parameter(name).rank) == 1 ? 1 : 2])
                expectClose(try kflr.denseMatrix().scalars, dense.block(dense.ggn, name), Self.tolerance, "kflr of \(name), \(curvatureLoss) \(reduction)")
                expectClose(try kfra.denseMatrix().scalars, dense.block(dense.ggn, name), Self.tolerance, "kfra of \(name), \(curvatureLoss) \(reduction)")
            }
        }
    }

    @Test("the factors follow BackPACK's layout: B from the position-summed output factor, A the mean input outer product")
    func convolutionLayout() throws {
        var data = TestData(seed: 81)
        let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [2]), weight: data.tensor([2, 3, 2]), bias: data.tensor([2]))
        let model = Model<Double>(sequential: [conv, Flatten(), try Linear(weight: data.tensor([3, 6]), bias: nil)])
        let input: Tensor<Double> = data.tensor([4, 3, 4])
        let target = LossTarget<Double>.classes(shape: [4], indices: [0, 2, 1, 1])
        let results = try model.compute([KFLR(), SqrtGGNExact()], input: input, target: target, loss: CrossEntropyLoss())
        // B is the GGN of the bias: the Gram matrix of the bias's square-root columns.
        let root = try #require(results[SqrtGGNExact(), "0.bias"])
        let kflr = try #require(results[KFLR(), "0.weight"])
        expectClose(kflr.blocks[0][0].scalars, try root.gram(columns: 2), Self.tolerance, "B")
        expectClose(try #require(results[KFLR(), "0.bias"]).blocks[0][0].scalars, try root.gram(columns: 2), Self.tolerance, "bias B")
        // A = (1/N) Σₙ Σₚ xₙₚ xₙₚᵀ over the unfolded input (channel-major, then kernel tap).
        var a = [Double](repeating: 0, count: 36)
        for n in 0..<4 {
            for p in 0..<3 {
                let column = (0..<3).flatMap { c in (0..<2).map { k in input.scalars[n * 12 + c * 4 + p + k] } }
                for i in 0..<6 { for j in 0..<6 { a[i * 6 + j] += column[i] * column[j] / 4 } }
            }
        }
        expectClose(kflr.blocks[0][1].scalars, a, Self.tolerance, "A")
    }

    @Test("KFAC and the Monte Carlo GGN diagonals converge to their exact counterparts within the sampling error")
    func monteCarloConvergence() throws {
        var data = TestData(seed: 82)
        let (model, _) = try KroneckerProblems.all[1].make(&data)
        let input: Tensor<Double> = data.tensor([3, 3])
        let m = 4000
        for curvatureLoss in [CurvatureLoss.crossEntropy, .mse, .bce] {
            let target = curvatureLoss.target(try model(input).shape, &data)
            let loss = curvatureLoss.make(.mean)
            let quantities: [any Quantity<Double>] = [
                KFAC(mcSamples: m, seed: 5), KFLR(), DiagGGNMC(mcSamples: m, seed: 5), BatchDiagGGNMC(mcSamples: m, seed: 5),
                DiagGGNExact(), BatchDiagGGNExact(), SqrtGGNMC(mcSamples: m, seed: 5),
            ]
            let results = try model.compute(quantities, input: input, target: target, loss: loss)
            for name in model.parameterNames {
                let what = "\(name) with \(curvatureLoss)"
                // Each draw's column gives an unbiased estimate M·(J_θᵀ sₘₙ)(J_θᵀ sₘₙ)ᵀ.
                let root = try #require(results[SqrtGGNMC(mcSamples: m, seed: 5), name])  // [M, N, *θ]
                let size = root.count / (m * 3)
                let columns = try root.reshaped([m, 3, size]).scalars
                func draw(_ k: Int, sample: Int?, _ i: Int, _ j: Int) -> Double {
                    (sample.map { [$0] } ?? [0, 1, 2]).reduce(0) { $0 + Double(m) * columns[(k * 3 + $1) * size + i] * columns[(k * 3 + $1) * size + j] }
                }
                func expectWithinSamplingError(_ estimate: [Double], _ exact: [Double], _ terms: (Int, Int) -> Double, _ field: String) {
                    var worst = 0.0
                    for index in exact.indices {
                        let values = (0..<m).map { terms(index, $0) }
                        let mean = values.reduce(0, +) / Double(m)
                        let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(m - 1)).squareRoot()
                        #expect(abs(mean - estimate[index]) <= 1e-10 * max(1, abs(mean)), "\(field) of \(what) is the mean of its draws")
                        #expect(abs(estimate[index] - exact[index]) <= 5 * deviation / Double(m).squareRoot() + 1e-12, "\(field)[\(index)] of \(what)")
                        worst = max(worst, 5 * deviation / Double(m).squareRoot())
                    }
                    // The bound is tight enough that a wrong scale (×2, ×1/M) cannot pass it: under a fifth of the largest value.
                    let scale = exact.map(abs).max() ?? 0
                    #expect(worst < 0.2 * scale, "\(field) of \(what): sampling bound \(worst) is too loose for values up to \(scale)")
                }
                let diagonal = try #require(results[DiagGGNExact(), name]).scalars
                expectWithinSamplingError(try #require(results[DiagGGNMC(mcSamples: m, seed: 5), name]).scalars, diagonal,
                                          { index, k in draw(k, sample: nil, index, index) }, "diag_ggn_mc")
                let perSample = try #require(results[BatchDiagGGNExact(), name]).scalars
                expectWithinSamplingError(try #require(results[BatchDiagGGNMC(mcSamples: m, seed: 5), name]).scalars, perSample,
                                          { index, k in draw(k, sample: index / size, index % size, index % size) }, "diag_ggn_mc_batch")
                if name.hasSuffix("bias") {
                    let kfac = try #require(results[KFAC(mcSamples: m, seed: 5), name]).blocks[0][0].scalars
                    let kflr = try #require(results[KFLR(), name]).blocks[0][0].scalars
                    expectWithinSamplingError(kfac, kflr, { index, k in draw(k, sample: nil, index / size, index % size) }, "kfac")
                } else {
                    let kfac = try #require(results[KFAC(mcSamples: m, seed: 5), name]).blocks[0]
                    let kflr = try #require(results[KFLR(), name]).blocks[0]
                    expectClose(kfac[1].scalars, kflr[1].doubles, Tolerance(relative: 1e-12, absolute: 1e-15), "kfac input factor of \(what)")
                }
            }
        }
    }

    @Test("a fixed seed gives bit-identical Monte Carlo results, another seed other draws")
    func seeds() throws {
        var data = TestData(seed: 83)
        let (model, _) = try KroneckerProblems.all[0].make(&data)
        let input: Tensor<Double> = data.tensor([4, 4])
        let target = LossTarget<Double>.classes(shape: [4], indices: [0, 1, 2, 0])
        let first = try model.compute([DiagGGNMC(mcSamples: 3, seed: 9), KFAC(mcSamples: 2, seed: 9)], input: input, target: target, loss: CrossEntropyLoss())
        let again = try model.compute([KFAC(mcSamples: 2, seed: 9), DiagGGNMC(mcSamples: 3, seed: 9)], input: input, target: target, loss: CrossEntropyLoss())
        let other = try model.compute([DiagGGNMC(mcSamples: 3, seed: 10)], input: input, target: target, loss: CrossEntropyLoss())
        for name in model.parameterNames {
            #expect(first[DiagGGNMC(mcSamples: 3, seed: 9), name] == again[DiagGGNMC(mcSamples: 3, seed: 9), name])
            #expect(first[KFAC(mcSamples: 2, seed: 9), name]?.tensors == again[KFAC(mcSamples: 2, seed: 9), name]?.tensors)
            #expect(first[DiagGGNMC(mcSamples: 3, seed: 9), name] != other[DiagGGNMC(mcSamples: 3, seed: 10), name])
        }
        #expect(throws: QuantityError.self) {
            try model.compute([DiagGGNMC(mcSamples: 0)], input: input, target: target, loss: CrossEntropyLoss())
        }
    }

    @Test("a Kronecker value's dense matrix and its matrix-vector product agree")
    func kroneckerProducts() throws {
        var data = TestData(seed: 84)
        let factors = KroneckerFactors<Double>(blocks: [[data.tensor([2, 2]), data.tensor([3, 3])], [data.tensor([4, 4])], [data.tensor([2, 2]), data.tensor([1, 1])]])
        let dense = try factors.denseMatrix()
        #expect(dense.shape == [12, 12] && factors.size == 12)
        let vectors: Tensor<Double> = data.tensor([3, 12])
        expectClose(try factors.apply(vectors).scalars, try vectors.matmul(dense, transposingOther: true).doubles, Tolerance(relative: 1e-12, absolute: 1e-14), "apply")
        // B ⊗ A on a row-major [b, a] block is B X Aᵀ.
        let (b, a) = (factors.blocks[0][0], factors.blocks[0][1])
        let x = try vectors.sliced(axis: 0, range: 0..<1).sliced(axis: 1, range: 0..<6).reshaped([2, 3])
        expectClose(try factors.apply(vectors).sliced(axis: 0, range: 0..<1).sliced(axis: 1, range: 0..<6).scalars,
                    try b.matmul(x).matmul(a, transposingOther: true).doubles, Tolerance(relative: 1e-12, absolute: 1e-14), "B X Aᵀ")
    }
}
