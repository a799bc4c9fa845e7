import Rucksack
import RucksackTestSupport
import Testing

@Suite("conjugate gradients and CGNewton")
struct ConjugateGradientTests {
    static func matrixProduct(_ a: Tensor<Double>) -> (Tensor<Double>) throws -> Tensor<Double> {
        { v in try a.matmul(v.reshaped([-1, 1])).reshaped(v.shape) }
    }

    @Test("the 2×2 example of Wikipedia from a warm start, as bpexts tests it")
    func wikipediaSystem() throws {
        let a = try Tensor<Double>(shape: [2, 2], scalars: [4, 1, 1, 3])
        let solution = try ConjugateGradients.solve(Self.matrixProduct(a), Tensor(shape: [2], scalars: [1, 2]),
                                                    initialGuess: Tensor(shape: [2], scalars: [2, 1]), relativeTolerance: 1e-12)
        expectClose(solution.x.scalars, [1.0 / 11, 7.0 / 11], Tolerance(relative: 1e-12, absolute: 1e-14), "solution")
        #expect(solution.stop == .converged)
        #expect(solution.iterations == 2)
    }

    @Test("random regularised positive definite systems reach the requested relative residual within their dimension", arguments: 0..<5)
    func randomSystems(_ seed: Int) throws {
        var data = TestData(seed: 80 + UInt64(seed))
        let factor: Tensor<Double> = data.tensor([10, 10])
        let a = try factor.matmul(factor, transposingOther: true) + Tensor.identity(10) * 0.1
        let b: Tensor<Double> = data.tensor([10])
        let solution = try ConjugateGradients.solve(Self.matrixProduct(a), b, relativeTolerance: 1e-5, maxIterations: 10)
        let residual = try b - Self.matrixProduct(a)(solution.x)
        let relative = (try (residual * residual).sum().scalars[0] / (b * b).sum().scalars[0]).squareRoot()
        #expect(solution.stop == .converged)
        #expect(relative < 1e-5, "relative residual \(relative)")
        #expect(solution.iterations <= 10)
    }

    @Test("a zero right-hand side gives zero without a product; negative curvature and the iteration limit stop the iteration")
    func guards() throws {
        var products = 0
        let zero = try ConjugateGradients.solve({ v in products += 1; return v }, Tensor<Double>(zeros: [3]))
        #expect(zero.x.scalars == [0, 0, 0] && zero.iterations == 0 && products == 0 && zero.stop == .converged)
        let b = try Tensor<Double>(shape: [3], scalars: [1, 2, 3])
        let negative = try ConjugateGradients.solve({ -$0 }, b)
        #expect(negative.stop == .nonPositiveCurvature && negative.x.scalars == [0, 0, 0] && negative.iterations == 1)
        let a = try Tensor<Double>(shape: [3, 3], scalars: [3, 1, 0, 1, 4, 1, 0, 1, 5])
        let limited = try ConjugateGradients.solve(Self.matrixProduct(a), b, relativeTolerance: 0, maxIterations: 1)
        #expect(limited.stop == .iterationLimit && limited.iterations == 1)
        #expect(throws: QuantityError.self) { try ConjugateGradients.solve({ $0 }, b, initialGuess: Tensor(zeros: [2])) }
    }

    @Test("CGNewton with alpha 0 and learning rate 1 minimises a quadratic loss in one step")
    func newtonStepOnQuadratic() throws {
        // Least squares in the weight of a linear layer: the loss is quadratic, its one block exact.
        var data = TestData(seed: 85)
        var model = Model<Double>(sequential: [try Linear(weight: data.tensor([2, 3]), bias: nil)])
        let input: Tensor<Double> = data.tensor([6, 3])
        let target = LossTarget<Double>.values(data.tensor([6, 2]))
        let loss = MSELoss<Double>()
        let optimizer = try CGNewton(curvature: GGNMP<Double>(), learningRate: 1, alpha: 0, relativeTolerance: 1e-12, absoluteTolerance: 0)
        let before = try model.compute([optimizer.curvature], input: input, target: target, loss: loss)
        let solutions = try optimizer.step(&model, results: before)
        #expect(solutions["0.weight"]?.stop == .converged)
        let after = try model.gradient(input, target, loss: loss)
        expectClose(after.gradients["0.weight"]!.scalars, [Double](repeating: 0, count: 6), Tolerance(relative: 0, absolute: 1e-12), "gradient after the step")
        #expect(after.loss < before.loss)
    }

    @Test("CGNewton refuses alpha outside [0, 1] and results without its curvature")
    func refusals() throws {
        #expect(throws: QuantityError.self) { try CGNewton(curvature: HMP<Double>(), learningRate: 1, alpha: 1.5) }
        var model = Model<Double>(sequential: [try Linear(inFeatures: 2, outFeatures: 1)])
        let results = try model.compute([], input: Tensor(zeros: [1, 2]), target: .values(Tensor(zeros: [1, 1])), loss: MSELoss())
        #expect(throws: QuantityError.self) { try CGNewton(curvature: HMP<Double>(), learningRate: 1, alpha: 0).step(&model, results: results) }
    }
}
