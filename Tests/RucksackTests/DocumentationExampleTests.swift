import Rucksack
import RucksackTestSupport
import Testing

/// The listings of the DocC article "Computing every quantity on a small model", run as written,
/// with the relations the article states checked.
@Test("the article's example computes every quantity with the shapes and relations it states")
func computingQuantitiesArticle() throws {
    var model = Model<Double>(sequential: [
        try Linear(inFeatures: 4, outFeatures: 3),
        ReLU(),
        try Linear(inFeatures: 3, outFeatures: 2),
    ])
    try model.initializeParameters(seed: 0)
    #expect(model.parameterNames == ["0.weight", "0.bias", "2.weight", "2.bias"])

    var stream = RandomStream(seed: 1)
    let input: Tensor<Double> = try stream.normal(shape: [5, 4])
    let target = LossTarget<Double>.classes(shape: [5], indices: [0, 1, 1, 0, 1])
    let loss = CrossEntropyLoss<Double>()
    let results = try model.compute(
        [BatchGrad(), BatchL2Grad(), SumGradSquared(), Variance(), BatchDot()],
        input: input, target: target, loss: loss)

    let name = "0.weight"
    let gradient = try #require(results.gradients[name])
    let individual = try #require(results[BatchGrad(), name])
    let squaredNorms = try #require(results[BatchL2Grad(), name])
    let secondMoment = try #require(results[SumGradSquared(), name])
    let variance = try #require(results[Variance(), name])
    let dots = try #require(results[BatchDot(), name])
    #expect(gradient.shape == [3, 4] && individual.shape == [5, 3, 4] && squaredNorms.shape == [5])
    #expect(secondMoment.shape == [3, 4] && variance.shape == [3, 4] && dots.shape == [5, 5])

    let tolerance = Tolerance(relative: 1e-12, absolute: 1e-15)
    expectClose(try individual.sum(axes: [0]).scalars, gradient.doubles, tolerance, "Σ individual = gradient")
    let mean = gradient / 5
    expectClose((try secondMoment / 5 - mean.squared()).scalars, variance.doubles, tolerance, "variance from the moments")
    expectClose((0..<5).map { dots.scalars[$0 * 6] }, squaredNorms.doubles, tolerance, "diagonal of batch_dot")

    let (value, gradients) = try model.gradient(input, target, loss: loss)
    #expect(value == results.loss)
    for (name, gradient) in gradients {
        expectClose(gradient.scalars, try #require(results.gradients[name]).doubles, tolerance, name)
    }
}

/// The example layer of the article "Adding a layer", as written there.
struct Softsign<Scalar: TensorScalar>: ElementwiseActivation {
    var typeName: String { "Softsign" }
    var inputHessianStructure: InputHessianStructure { .diagonal }

    func value(_ x: Scalar) -> Scalar { x / (1 + x.magnitude) }

    func derivative(_ x: Scalar) -> Scalar {
        let d = 1 + x.magnitude
        return 1 / (d * d)
    }

    func secondDerivative(_ x: Scalar) -> Scalar {
        let d = 1 + x.magnitude
        let sign: Scalar = x > 0 ? 1 : (x < 0 ? -1 : 0)
        return -2 * sign / (d * d * d)
    }
}

/// The example quantity of the article "Adding a quantity", as written there.
struct BatchL1Grad<Scalar: TensorScalar>: Quantity {
    var subsampling: [Int]?
    var field: String { "batch_l1" }

    func readOut(_ context: ParameterContext<Scalar>, arrived: NothingCarried) throws -> Tensor<Scalar> {
        try context.validate(subsampling, quantity: field)
        let gradients = try context.perSampleGradients(subsampling)
        return try gradients.abs().sum(axes: Array(1..<gradients.rank))
    }
}

/// The second example quantity of "Adding a quantity", as written there.
struct GGNTrace<Scalar: TensorScalar>: Quantity {
    var field: String { "ggn_trace" }
    var propagation: LossHessianFactors<Scalar> { LossHessianFactors(.exact) }

    func readOut(_ context: ParameterContext<Scalar>, arrived: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let columns = try context.visit.layer.transposedParameterJacobianProduct(
            arrived, parameter: context.parameter, io: context.visit.io, sumOverSamples: false, subsampling: nil)
        return Tensor(columns.squared().sumOfElements())
    }
}

@Test("the article's propagating example quantity equals the sum of the GGN diagonal")
func propagatingArticleExample() throws {
    var model = Model<Double>(sequential: [try Linear(inFeatures: 4, outFeatures: 3), Tanh(), try Linear(inFeatures: 3, outFeatures: 2)])
    try model.initializeParameters(seed: 2)
    var stream = RandomStream(seed: 3)
    let input: Tensor<Double> = try stream.normal(shape: [5, 4])
    let target = LossTarget<Double>.classes(shape: [5], indices: [0, 1, 1, 0, 1])
    let results = try model.compute([GGNTrace(), DiagGGNExact()], input: input, target: target, loss: CrossEntropyLoss())
    for name in model.parameterNames {
        let trace = try #require(results[GGNTrace(), name]).scalars
        expectClose(trace, [try #require(results[DiagGGNExact(), name]).doubles.reduce(0, +)], Tolerance(relative: 1e-12, absolute: 1e-15), name)
    }
}

@Test("the articles' example layer and quantity run in a model beside the built-in quantities")
func extensionArticles() throws {
    var model = Model<Double>(sequential: [
        try Linear(inFeatures: 4, outFeatures: 3), Softsign(), try Linear(inFeatures: 3, outFeatures: 2),
    ])
    try model.initializeParameters(seed: 0)
    var stream = RandomStream(seed: 1)
    let input: Tensor<Double> = try stream.normal(shape: [5, 4])
    let target = LossTarget<Double>.classes(shape: [5], indices: [0, 1, 1, 0, 1])
    let results = try model.compute([BatchGrad(), BatchL1Grad(subsampling: [4, 0])], input: input, target: target, loss: CrossEntropyLoss())
    for name in model.parameterNames {
        let individual = try #require(results[BatchGrad(), name])
        let perSample = individual.count / 5
        let expected = [4, 0].map { sample in individual.scalars[(sample * perSample)..<((sample + 1) * perSample)].reduce(0) { $0 + abs($1) } }
        expectClose(try #require(results[BatchL1Grad(subsampling: [4, 0]), name]).scalars, expected,
                    Tolerance(relative: 1e-12, absolute: 1e-15), name)
    }
}
