import Rucksack
import RucksackTestSupport
import Testing

@Suite("exact curvature products")
struct CurvatureProductTests {
    static let tolerance = Tolerance(relative: 1e-7, absolute: 1e-10)

    @Test("Block products of the Hessian, GGN and PCH and whole-network Hessian– and GGN–vector products equal dense brute-force references, for every loss and both reductions",
          arguments: SecondOrderQuantityTests.problems)
    func exactProducts(_ problem: QuantityProblem) throws {
        var data = TestData(seed: 71)
        let (model, inputShape) = try problem.make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let output = try model(input)
        let names = model.parameterNames
        let vector = try Dictionary(uniqueKeysWithValues: names.map { ($0, data.tensor(try model.parameter($0).shape, Double.self)) })
        let flat = names.flatMap { vector[$0]!.scalars }
        for curvatureLoss in [CurvatureLoss.crossEntropy, .mse, .bce] {
            let target = curvatureLoss.target(output.shape, &data)
            // References for `sum`; those for `mean` are ρ times them.
            let dense = try DenseCurvature(model, input: input, target: target, loss: curvatureLoss.make(.sum), perSampleHessians: false)
            let residuals = try dense.residualTerms(model, input: input, target: target, loss: curvatureLoss.make(.sum))
            // Within a parameter's block (not across blocks, where layers' mixed second derivatives enter).
            let hessian = DenseCurvature.adding(residuals, to: dense.ggn) { $0 }
            for name in names {
                expectClose(dense.block(hessian, name), dense.block(dense.hessian, name), Self.tolerance, "reference: GGN + residual terms = Hessian in the \(name) block, \(curvatureLoss)")
            }
            let pchAbs = DenseCurvature.adding(residuals, to: dense.ggn) { Swift.abs($0) }
            let pchClip = DenseCurvature.adding(residuals, to: dense.ggn) { Swift.max($0, 0) }
            let rho = try curvatureLoss.make(.mean).value(output, target) / curvatureLoss.make(.sum).value(output, target)
            for reduction in Reduction.allCases {
                let scale = reduction == .sum ? 1 : rho
                let loss = curvatureLoss.make(reduction)
                let what = "\(curvatureLoss) \(reduction)"
                func check(_ actual: [Double], _ expected: [Double], _ field: String) {
                    expectClose(actual, expected.map { $0 * scale }, Self.tolerance, "\(field) with \(what)")
                }
                func times(_ matrix: [[Double]]) -> [Double] { matrix.map { row in zip(row, flat).reduce(0) { $0 + $1.0 * $1.1 } } }
                let hvp = try model.hessianVectorProduct(vector, input: input, target: target, loss: loss)
                check(names.flatMap { hvp[$0]!.scalars }, times(dense.hessian), "hvp")
                let ggnVP = try model.ggnVectorProduct(vector, input: input, target: target, loss: loss)
                check(names.flatMap { ggnVP[$0]!.scalars }, times(dense.ggn), "ggn_vp")

                let results = try model.compute([HMP(), GGNMP(), PCHMP(modification: .abs), PCHMP(modification: .clip)], input: input, target: target, loss: loss)
                for name in names {
                    check(try #require(results[HMP(), name]).denseMatrix().scalars, dense.block(dense.hessian, name), "\(name) hmp")
                    check(try #require(results[GGNMP(), name]).denseMatrix().scalars, dense.block(dense.ggn, name), "\(name) ggnmp")
                    check(try #require(results[PCHMP(modification: .abs), name]).denseMatrix().scalars, dense.block(pchAbs, name), "\(name) pchmp abs")
                    check(try #require(results[PCHMP(modification: .clip), name]).denseMatrix().scalars, dense.block(pchClip, name), "\(name) pchmp clip")
                }
            }
        }
    }
}

extension CurvatureProductTests {
    static func mlp(_ data: inout TestData) throws -> Model<Double> {
        Model(sequential: [try Linear(weight: data.tensor([4, 3]), bias: data.tensor([4])), Sigmoid(), try Linear(weight: data.tensor([2, 4]), bias: data.tensor([2]))])
    }

    @Test("a block product stays the same after the model changes and runs again, and names a stack of the wrong shape")
    func blockProductIsAValue() throws {
        var data = TestData(seed: 72)
        var model = try Self.mlp(&data)
        let input: Tensor<Double> = data.tensor([5, 3])
        let target = LossTarget<Double>.classes(shape: [5], indices: [0, 1, 1, 0, 1])
        let loss = CrossEntropyLoss<Double>()
        let block = try #require(try model.compute([HMP()], input: input, target: target, loss: loss)[HMP(), "0.weight"])
        let vectors: Tensor<Double> = data.tensor([3, 4, 3])
        let before = try block.apply(vectors)
        try model.setParameter("2.weight", to: data.tensor([2, 4]))
        _ = try model.compute([HMP()], input: data.tensor([5, 3]), target: target, loss: loss)
        #expect(try block.apply(vectors).scalars == before.scalars)
        // Each vector of a stack is multiplied on its own.
        let single = try block.apply(vectors.sliced(axis: 0, range: 1..<2))
        expectClose(single.scalars, try before.sliced(axis: 0, range: 1..<2).scalars, .unitScale(Double.self))
        #expect(throws: QuantityError.invalidArgument(
            quantity: "curvature block product", reason: "expects a stack of vectors shaped [V] + [4, 3], got [4, 3]")) {
            try block.apply(vectors.sliced(axis: 0, range: 0..<1).squeezed(at: 0))
        }
    }

    @Test("whole-network products name a vector entry that is missing, unknown or of the wrong shape")
    func vectorChecks() throws {
        var data = TestData(seed: 73)
        let model = try Self.mlp(&data)
        let input: Tensor<Double> = data.tensor([2, 3])
        let target = LossTarget<Double>.classes(shape: [2], indices: [0, 1])
        var vector = try Dictionary(uniqueKeysWithValues: model.parameterNames.map { ($0, try Tensor<Double>(zeros: model.parameter($0).shape)) })
        vector["2.bias"] = nil
        #expect(throws: QuantityError.invalidArgument(quantity: "hvp", reason: "the vector has no entry for parameter '2.bias' (shape [2])")) {
            try model.hessianVectorProduct(vector, input: input, target: target, loss: CrossEntropyLoss())
        }
        vector["2.bias"] = try Tensor(zeros: [3])
        #expect(throws: QuantityError.invalidArgument(quantity: "ggn_vp", reason: "the vector's entry '2.bias' has shape [3], the parameter [2]")) {
            try model.ggnVectorProduct(vector, input: input, target: target, loss: CrossEntropyLoss())
        }
        vector["2.bias"] = try Tensor(zeros: [2])
        vector["1.weight"] = try Tensor(zeros: [2])
        #expect(throws: QuantityError.invalidArgument(quantity: "hvp", reason: "the vector has an entry '1.weight', which is not a parameter of the model")) {
            try model.hessianVectorProduct(vector, input: input, target: target, loss: CrossEntropyLoss())
        }
    }
}
