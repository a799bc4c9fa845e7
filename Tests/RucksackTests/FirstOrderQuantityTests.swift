import Rucksack
import RucksackTestSupport
import Testing

/// A model with parameterized layers of one family, ending in features for a loss.
struct QuantityProblem: CustomStringConvertible, Sendable {
    var name: String
    var make: @Sendable (inout TestData) throws -> (model: Model<Double>, inputShape: [Int])
    var description: String { name }

    static func head(_ features: Int, _ data: inout TestData) throws -> [ModelNode<Double>] {
        [.layer(Flatten()), .layer(try Linear(weight: data.tensor([3, features]), bias: data.tensor([3])))]
    }

    static let all: [QuantityProblem] = [
        QuantityProblem(name: "Linear with extra axes") { data in
            (Model(.sequential([.layer(try Linear(weight: data.tensor([5, 4]), bias: data.tensor([5]))), .layer(Tanh())]
                               + (try head(15, &data)))), [4, 3, 4])
        },
        QuantityProblem(name: "Linear") { data in
            (Model(.sequential([.layer(try Linear(weight: data.tensor([6, 4]), bias: nil)), .layer(Sigmoid())] + (try head(6, &data)))), [4, 4])
        },
    ] + (0..<8).map { draw in
        // Draws 0–5 cover Conv1d/2d/3d and ConvTranspose1d/2d/3d.
        let rank = draw / 2 % 3 + 1
        return QuantityProblem(name: "\(draw % 2 == 0 ? "Conv" : "ConvTranspose")\(rank)d draw \(draw)") { data in
            data = TestData(seed: 300 + UInt64(draw))
            var problem = ConvolutionCase.random(&data, transposed: draw % 2 == 1, rank: rank)
            problem.inputShape[0] = 4
            let g = problem.geometry
            let outChannels = g.transposed ? problem.weightShape[1] * g.groups : problem.weightShape[0]
            let conv = try Convolution<Double>(geometry: g, weight: data.tensor(problem.weightShape), bias: data.tensor([outChannels]))
            let outSize = try g.outputSize(inputSize: Array(problem.inputShape.dropFirst(2)))
            return (Model(.sequential([.layer(conv), .layer(SiLU())] + (try head(outChannels * outSize.reduce(1, *), &data)))), problem.inputShape)
        }
    } + [
        QuantityProblem(name: "BatchNorm1d on features") { data in
            var norm = try BatchNorm<Double>(numFeatures: 3, spatialRank: 1)
            try norm.setParameter("weight", to: data.tensor([3]))
            try norm.setBuffer("running_var", to: ArrayData(Tensor<Double>(shape: [3], scalars: [0.5, 2, 1.5])))
            return (Model(.sequential([.layer(try Linear(weight: data.tensor([3, 2]), bias: nil)), .layer(norm)] + (try head(3, &data)))), [4, 2])
        },
        QuantityProblem(name: "BatchNorm2d after a convolution") { data in
            var norm = try BatchNorm<Double>(numFeatures: 2, spatialRank: 2)
            try norm.setParameter("weight", to: data.tensor([2]))
            try norm.setParameter("bias", to: data.tensor([2]))
            try norm.setBuffer("running_mean", to: ArrayData(data.tensor([2], Double.self)))
            try norm.setBuffer("running_var", to: ArrayData(Tensor<Double>(shape: [2], scalars: [0.5, 2])))
            let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [2, 2]), weight: data.tensor([2, 1, 2, 2]), bias: nil)
            return (Model(.sequential([.layer(conv), .layer(norm)] + (try head(8, &data)))), [4, 1, 3, 3])
        },
        QuantityProblem(name: "BatchNorm3d without affine parameters after a convolution") { data in
            var norm = try BatchNorm<Double>(numFeatures: 2, spatialRank: 3, affine: false)
            try norm.setBuffer("running_mean", to: ArrayData(data.tensor([2], Double.self)))
            let conv = try Convolution<Double>(geometry: ConvolutionGeometry(kernelSize: [1, 2, 2]), weight: data.tensor([2, 1, 1, 2, 2]), bias: data.tensor([2]))
            return (Model(.sequential([.layer(conv), .layer(norm)] + (try head(8, &data)))), [4, 1, 1, 3, 3])
        },
        QuantityProblem(name: "residual network") { data in (try ModelTests.resnet(&data), [4, 1, 4, 4]) },
    ]
}

/// Every first-order quantity against a loop of single-sample backward passes in Float64.
@Suite("first-order quantities")
struct FirstOrderQuantityTests {
    static let losses: [(name: String, make: @Sendable (Reduction) -> any Loss<Double>)] = [
        ("cross-entropy", { CrossEntropyLoss(reduction: $0) }), ("mse", { MSELoss(reduction: $0) }),
    ]

    @Test("individual gradients, norms, second moment, variance and dot products equal a per-sample loop",
          arguments: QuantityProblem.all, Reduction.allCases)
    func matchesPerSampleLoop(_ problem: QuantityProblem, reduction: Reduction) throws {
        var data = TestData(seed: 40)
        let (model, inputShape) = try problem.make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let n = inputShape[0]
        for (lossName, makeLoss) in Self.losses {
            let loss = makeLoss(reduction)
            let target: LossTarget<Double> = lossName == "cross-entropy"
                ? .classes(shape: [n], indices: (0..<n).map { $0 % 3 }) : .values(data.tensor([n, 3]))
            let subsampling = [2, 0, 0, 3]
            let quantities: [any Quantity<Double>] = [
                BatchGrad(), BatchL2Grad(subsampling: subsampling), SumGradSquared(), Variance(), BatchDot(subsampling: subsampling),
            ]
            let results = try model.compute(quantities, input: input, target: target, loss: loss)
            let perSample = try Self.perSampleGradients(model, input, target, loss)
            for name in model.parameterNames {
                let g = perSample.map { $0[name]!.scalars }
                let size = g[0].count
                func check(_ actual: Tensor<Double>?, _ expected: [Double], _ what: String) {
                    guard let actual else { Issue.record("\(what) of \(name) missing"); return }
                    expectClose(actual.scalars, expected, Tolerance(relative: 1e-12, absolute: 1e-15), "\(what) of \(name) with \(lossName) \(reduction)")
                }
                let dot = { (a: Int, b: Int) in zip(g[a], g[b]).reduce(0) { $0 + $1.0 * $1.1 } }
                let sumSquares = (0..<size).map { i in g.reduce(0) { $0 + $1[i] * $1[i] } }
                let mean = (0..<size).map { i in g.reduce(0) { $0 + $1[i] } / Double(n) }
                check(results[BatchGrad(), name], g.flatMap { $0 }, "grad_batch")
                check(results.gradients[name], (0..<size).map { i in g.reduce(0) { $0 + $1[i] } }, "grad")
                check(results[BatchL2Grad(subsampling: subsampling), name], subsampling.map { dot($0, $0) }, "batch_l2")
                check(results[SumGradSquared(), name], sumSquares, "sum_grad_squared")
                check(results[Variance(), name], zip(sumSquares, mean).map { $0 / Double(n) - $1 * $1 }, "variance")
                check(results[BatchDot(subsampling: subsampling), name], subsampling.flatMap { a in subsampling.map { b in dot(a, b) } }, "batch_dot")
                #expect(results[BatchGrad(), name]?.shape == [n] + (try model.parameter(name).shape))
            }
        }
    }

    @Test("sub-sampled individual gradients follow the index list, and each setting is its own request")
    func subsampledBatchGrad() throws {
        var data = TestData(seed: 41)
        let (model, inputShape) = try QuantityProblem.all[0].make(&data)
        let input: Tensor<Double> = data.tensor(inputShape)
        let target = LossTarget<Double>.classes(shape: [4], indices: [0, 1, 2, 0])
        let loss = CrossEntropyLoss<Double>()
        let indices = [3, 1, 1]
        let results = try model.compute([BatchGrad(subsampling: indices)], input: input, target: target, loss: loss)
        let full = try model.compute([BatchGrad()], input: input, target: target, loss: loss)
        for name in model.parameterNames {
            let expected = try full[BatchGrad(), name]!.indexSelected(axis: 0, indices: indices)
            #expect(results[BatchGrad(subsampling: indices), name] == expected)
        }
        #expect(throws: QuantityError.self) {
            try model.compute([BatchGrad(subsampling: [4])], input: input, target: target, loss: loss)
        }
        // Two settings of one quantity are two requests, each read back by its own settings.
        let both = try model.compute([BatchGrad(), BatchGrad(subsampling: [0])], input: input, target: target, loss: loss)
        for name in model.parameterNames {
            #expect(both[BatchGrad(), name] == full[BatchGrad(), name])
            #expect(both[BatchGrad(subsampling: [0]), name] == (try full[BatchGrad(), name]!.indexSelected(axis: 0, indices: [0])))
            #expect(both[BatchGrad(subsampling: [1]), name] == nil)
        }
        #expect(throws: QuantityError.self) {
            try model.compute([BatchGrad(subsampling: [0]), BatchGrad(subsampling: [0])], input: input, target: target, loss: loss)
        }
    }

    /// `gₙ = ∇θ (ρ ℓₙ)` from a backward pass on sample `n` alone, with the reduction factor `ρ`
    /// of the whole batch (the ratio of the mean and the sum of the batch loss).
    static func perSampleGradients(
        _ model: Model<Double>, _ input: Tensor<Double>, _ target: LossTarget<Double>, _ loss: any Loss<Double>
    ) throws -> [[String: Tensor<Double>]] {
        let n = input.shape[0]
        let output = try model(input)
        func withReduction(_ reduction: Reduction) -> any Loss<Double> {
            switch loss {
            case is CrossEntropyLoss<Double>: CrossEntropyLoss(reduction: reduction)
            case is BCEWithLogitsLoss<Double>: BCEWithLogitsLoss(reduction: reduction)
            default: MSELoss(reduction: reduction)
            }
        }
        let sumLoss = withReduction(.sum), meanLoss = withReduction(.mean)
        let factor = loss.reduction == .sum ? 1 : try meanLoss.value(output, target) / sumLoss.value(output, target)
        return try (0..<n).map { sample in
            let x = try input.indexSelected(axis: 0, indices: [sample])
            let t: LossTarget<Double>
            switch target {
            case let .classes(shape, indices):
                let perSample = indices.count / n
                t = .classes(shape: [1] + shape.dropFirst(), indices: Array(indices[(sample * perSample)..<((sample + 1) * perSample)]))
            case let .values(values): t = .values(try values.indexSelected(axis: 0, indices: [sample]))
            }
            return try model.gradient(x, t, loss: sumLoss).gradients.mapValues { $0 * factor }
        }
    }
}

/// A layer with a parameter but no per-sample products: quantities must refuse it by name.
struct WholeBatchScale: Layer {
    typealias Scalar = Double
    var scale = try! Tensor<Double>(shape: [1], scalars: [2])
    var typeName: String { "WholeBatchScale" }
    var parameterNames: [String] { ["scale"] }
    func parameter(_ name: String) throws -> Tensor<Double> { scale }
    func callAsFunction(_ input: Tensor<Double>) throws -> Tensor<Double> { try input * scale }
    func jacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> { try m * scale }
    func transposedJacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> { try m * scale }
    func transposedParameterJacobianProduct(
        _ m: Tensor<Double>, parameter name: String, io: LayerIO<Double>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Double> {
        guard sumOverSamples else {
            throw LayerError.productUnavailable(layer: typeName, product: "per-sample gradients", reason: "the scale couples the samples")
        }
        return try (m * io.input).sum(axes: Array(1..<m.rank)).reshaped([m.shape[0], 1])
    }
}

@Test("a quantity that a layer cannot provide is refused naming both")
func unsupportedLayer() throws {
    let model = Model<Double>(sequential: [try Linear(inFeatures: 2, outFeatures: 2), WholeBatchScale()])
    let input = try Tensor<Double>(repeating: 1, shape: [3, 2])
    let target = LossTarget<Double>.values(try Tensor(zeros: [3, 2]))
    #expect(try model.gradient(input, target, loss: MSELoss()).gradients["1.scale"] != nil)
    do {
        _ = try model.compute([BatchGrad()], input: input, target: target, loss: MSELoss())
        Issue.record("grad_batch on WholeBatchScale must throw")
    } catch let QuantityError.unsupported(layer, quantity, reason) {
        #expect(layer == "1 (WholeBatchScale)" && quantity == "grad_batch")
        #expect(reason == "per-sample gradients: the scale couples the samples")
    }
}

/// `Linear` with a shape bug injected into its per-sample product.
private struct BuggyLinear: Layer {
    typealias Scalar = Double
    var linear = try! Linear<Double>(inFeatures: 2, outFeatures: 2)
    var typeName: String { "BuggyLinear" }
    var parameterNames: [String] { linear.parameterNames }
    func parameter(_ name: String) throws -> Tensor<Double> { try linear.parameter(name) }
    func callAsFunction(_ input: Tensor<Double>) throws -> Tensor<Double> { try linear(input) }
    func jacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> { try linear.jacobianProduct(m, io: io) }
    func transposedJacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> {
        try linear.transposedJacobianProduct(m, io: io)
    }
    func transposedParameterJacobianProduct(
        _ m: Tensor<Double>, parameter name: String, io: LayerIO<Double>, sumOverSamples: Bool, subsampling: [Int]?
    ) throws -> Tensor<Double> {
        let product = try linear.transposedParameterJacobianProduct(
            m, parameter: name, io: io, sumOverSamples: sumOverSamples, subsampling: subsampling)
        return sumOverSamples ? product : try product + Tensor(zeros: [7])  // the bug
    }
}

@Test("an error inside a layer product keeps its type and names the layer path")
func layerErrorKeepsItsCause() throws {
    let model = Model<Double>(.sequential([.layer(try Linear(inFeatures: 2, outFeatures: 2)), .named("buggy", .layer(BuggyLinear()))]))
    let input = try Tensor<Double>(repeating: 1, shape: [3, 2])
    let target = LossTarget<Double>.values(try Tensor(zeros: [3, 2]))
    #expect(try model.gradient(input, target, loss: MSELoss()).gradients["buggy.weight"] != nil)
    for quantity in [BatchGrad<Double>(), BatchL2Grad()] as [any Quantity<Double>] {
        let error = #expect(throws: ModelError.self) {
            try model.compute([quantity], input: input, target: target, loss: MSELoss())
        }
        guard case let .layerFailed(path, type, underlying)? = error else {
            Issue.record("expected layerFailed, got \(String(describing: error))")
            continue
        }
        #expect(path == "buggy" && type == "BuggyLinear")
        #expect(underlying as? TensorError == .shapeMismatch(operation: "add", lhs: [1, 3, 2, 2], rhs: [7]))
    }
}

@Test("outer-product factors have the announced sizes and rebuild the individual gradients",
      arguments: QuantityProblem.all)
func outerProductFactors(_ problem: QuantityProblem) throws {
    var data = TestData(seed: 60)
    let (model, inputShape) = try problem.make(&data)
    let trace = try model.forward(data.tensor(inputShape))
    var checked = 0
    _ = try model.backward(trace, from: 0, step: { visit, _ in
        guard let layer = visit.layer as? any OuterProductStructure<Double> else { return 0 }
        for name in layer.parameterNames {
            let delta: Tensor<Double> = data.tensor(visit.io.output.shape)
            let shape = try layer.outerProductShape(parameter: name, io: visit.io)
            for subsampling in [nil, [2, 0, 2]] as [[Int]?] {
                let factors = try layer.outerProductFactors(
                    delta.samples(subsampling), parameter: name, io: visit.io, subsampling: subsampling)
                let m = subsampling?.count ?? inputShape[0]
                #expect(factors.left.shape == [m, shape.groups, shape.positions, shape.leftFeatures])
                #expect(factors.right.shape == [m, shape.groups, shape.positions, shape.rightFeatures])
                let rebuilt = try factors.toParameterLayout(Einsum.evaluate("ngpa,ngpb->ngab", factors.left, factors.right))
                let direct = try layer.transposedParameterJacobianProduct(
                    delta.samples(subsampling).unsqueezed(at: 0),
                    parameter: name, io: visit.io, sumOverSamples: false, subsampling: subsampling).squeezed(at: 0)
                expectClose(rebuilt.scalars, direct.doubles, Tolerance(relative: 1e-12, absolute: 1e-15), "\(visit.path)\(name)")
                checked += 1
            }
        }
        return 0
    }, merge: { _, arrived, _ in arrived })
    #expect(checked > 0)
}
