import Rucksack
import RucksackTestSupport
import Testing

@Suite("DP-SGD gradient")
struct PrivateGradientTests {
    @Test("clips each sample's whole gradient to the bound, then averages", arguments: [0.05, 1e6])
    func clipping(bound: Double) throws {
        var data = TestData(seed: 50)
        let (model, inputShape) = try QuantityProblem.all[0].make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let target = LossTarget<Double>.classes(shape: [4], indices: [0, 2, 1, 1])
        let privacy = try PrivateGradient<Double>(clipNorm: bound, noiseMultiplier: 0)
        let results = try model.compute(privacy.quantities, input: input, target: target, loss: CrossEntropyLoss(reduction: .sum))
        var stream = RandomStream(seed: 1)
        let gradients = try privacy.privatize(results, parameters: model.parameterNames, stream: &stream)
        let perSample = try FirstOrderQuantityTests.perSampleGradients(model, input, target, CrossEntropyLoss(reduction: .sum))
        let norms = perSample.map { sample in sample.values.reduce(0) { $0 + $1.squared().sumOfElements() }.squareRoot() }
        for name in model.parameterNames {
            let size = perSample[0][name]!.count
            let expected = (0..<size).map { i in
                (0..<4).reduce(0) { $0 + perSample[$1][name]!.scalars[i] * min(1, bound / norms[$1]) } / 4
            }
            expectClose(gradients[name]!.scalars, expected, Tolerance(relative: 1e-12, absolute: 1e-15), "\(name)")
        }
        if bound > 1e3 {  // nothing clipped: the mean gradient
            for name in model.parameterNames {
                expectClose(gradients[name]!.scalars, (results.gradients[name]! / 4).scalars, Tolerance(relative: 1e-12, absolute: 1e-15))
            }
        }
    }

    @Test("noise has the requested deviation")
    func noise() throws {
        let model = Model<Double>(sequential: [try Linear(weight: Tensor(zeros: [50, 40]), bias: nil)])
        let input = try Tensor<Double>(zeros: [2, 40])
        let target = LossTarget<Double>.values(try Tensor(zeros: [2, 50]))
        let privacy = try PrivateGradient<Double>(clipNorm: 2, noiseMultiplier: 1.5)
        let results = try model.compute(privacy.quantities, input: input, target: target, loss: MSELoss(reduction: .sum))
        var stream = RandomStream(seed: 2)
        let gradient = try privacy.privatize(results, parameters: model.parameterNames, stream: &stream)["0.weight"]!
        // Zero gradients: what remains is noise of deviation 1.5 · 2 / 2 samples = 1.5.
        let deviation = (gradient.squared().sumOfElements() / Double(gradient.count)).squareRoot()
        #expect(abs(deviation - 1.5) < 0.1)
        #expect(throws: QuantityError.self) { try PrivateGradient<Double>(clipNorm: 0, noiseMultiplier: 1) }
    }
}
