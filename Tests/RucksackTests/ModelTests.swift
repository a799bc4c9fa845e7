import Rucksack
import RucksackTestSupport
import Testing

@Suite("models")
struct ModelTests {
    static func mlp(_ data: inout TestData) throws -> Model<Double> {
        Model(sequential: [
            try Linear(weight: data.tensor([5, 4]), bias: data.tensor([5])), Tanh(),
            try Linear(weight: data.tensor([3, 5]), bias: data.tensor([3])),
        ])
    }

    static func cnn(_ data: inout TestData) throws -> Model<Double> {
        Model(sequential: [
            try Convolution(geometry: ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1]),
                            weight: data.tensor([2, 1, 3, 3]), bias: data.tensor([2])),
            SiLU(),
            try Convolution(geometry: ConvolutionGeometry(kernelSize: [2, 2], stride: [2, 2], groups: 2),
                            weight: data.tensor([4, 1, 2, 2]), bias: nil),
            Flatten(),
            try Linear(weight: data.tensor([3, 16]), bias: data.tensor([3])),
        ])
    }

    /// A residual network: a branch at the model input, a block with an identity shortcut and
    /// a block with a strided 1×1 convolution shortcut, one ReLU value used in several places.
    static func resnet(_ data: inout TestData) throws -> Model<Double> {
        let relu = ModelNode<Double>.layer(ReLU())
        func conv(_ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1) throws -> ModelNode<Double> {
            .layer(try Convolution(
                geometry: ConvolutionGeometry(kernelSize: [kernel, kernel], stride: [stride, stride], padding: [kernel / 2, kernel / 2]),
                weight: data.tensor([cout, cin, kernel, kernel]), bias: data.tensor([cout])))
        }
        return Model(.sequential([
            .parallel([try conv(1, 2, kernel: 3), try conv(1, 2, kernel: 1)]),
            relu,
            .residual([try conv(2, 2, kernel: 3), relu, try conv(2, 2, kernel: 3)]),
            relu,
            .residual([try conv(2, 3, kernel: 3, stride: 2), .layer(Tanh()), try conv(3, 3, kernel: 3)],
                      shortcut: try conv(2, 3, kernel: 1, stride: 2)),
            .layer(Flatten()),
            .layer(try Linear(weight: data.tensor([3, 12]), bias: data.tensor([3]))),
        ]))
    }

    @Test("one backward pass gives the gradient of every parameter", arguments: ["MLP", "CNN", "ResNet"], Reduction.allCases)
    func gradient(model name: String, reduction: Reduction) throws {
        var data = TestData(seed: 30)
        let model = try [ "MLP": Self.mlp, "CNN": Self.cnn, "ResNet": Self.resnet][name]!(&data)
        let input: Tensor<Double> = data.tensor(name == "MLP" ? [4, 4] : [3, 1, 4, 4])
        let target = LossTarget<Double>.classes(shape: [input.shape[0]], indices: (0..<input.shape[0]).map { $0 % 3 })
        let loss = CrossEntropyLoss<Double>(reduction: reduction)
        let (value, gradients) = try model.gradient(input, target, loss: loss)
        #expect(value == (try loss.value(model(input), target)))
        #expect(Set(gradients.keys) == Set(model.parameterNames))
        for parameterName in model.parameterNames {
            let theta = try model.parameter(parameterName)
            var probe = model
            let expected = try FiniteDifferences.jacobian({ values in
                try probe.setParameter(parameterName, to: Tensor(shape: theta.shape, scalars: values))
                return [try loss.value(probe(input), target)]
            }, at: theta.scalars)[0]
            let actual = try #require(gradients[parameterName])
            #expect(actual.shape == theta.shape)
            expectClose(actual.scalars, expected, Tolerance(relative: 1e-7, absolute: 1e-9), "\(parameterName)")
        }
    }

    @Test("names follow torch.nn.Sequential and errors name the layer")
    func namesAndErrors() throws {
        var data = TestData(seed: 31)
        var model = try Self.mlp(&data)
        #expect(model.parameterNames == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(try Self.resnet(&data).parameterNames.prefix(6) == ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "2.0.0.weight", "2.0.0.bias"])
        #expect(throws: LayerError.unknownParameter(layer: "Tanh", name: "weight")) { try model.parameter("1.weight") }
        #expect(throws: ModelError.unknownParameter(name: "weight")) { try model.parameter("weight") }
        #expect(throws: LayerError.self) { try model.setParameter("2.bias", to: Tensor(zeros: [4])) }
        do {
            _ = try model(Tensor(zeros: [2, 7]))
            Issue.record("a wrong input shape must throw")
        } catch let error as ModelError {
            #expect(String(describing: error).hasPrefix("layer 0 (Linear)"), "\(error)")
        }
    }
}
