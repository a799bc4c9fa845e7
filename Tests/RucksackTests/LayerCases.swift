import Rucksack
import RucksackTestSupport

/// A layer with random parameters and an input shape it accepts, for derivative checks.
struct LayerCase: CustomStringConvertible, Sendable {
    var name: String
    var make: @Sendable (inout TestData) throws -> (layer: any Layer<Double>, inputShape: [Int])
    var description: String { name }

    /// Every layer family, several random hyper-parameter draws each.
    static let all: [LayerCase] = linear + convolutions + activations + reshapes

    static let linear: [LayerCase] = [
        LayerCase(name: "Linear") { data in
            (try Linear(weight: data.tensor([3, 4]), bias: data.tensor([3])), [2, 4])
        },
        LayerCase(name: "Linear with extra axes, no bias") { data in
            (try Linear(weight: data.tensor([2, 3]), bias: nil), [3, 2, 2, 3])
        },
    ]

    static let convolutions: [LayerCase] = (0..<12).map { draw in
        let transposed = draw % 2 == 1
        return LayerCase(name: "\(transposed ? "ConvTranspose" : "Conv") draw \(draw)") { data in
            data = TestData(seed: 100 + UInt64(draw))
            var problem = ConvolutionCase.random(&data, transposed: transposed)
            problem.inputShape[0] = 2
            let outChannels = transposed ? problem.weightShape[1] * problem.geometry.groups : problem.weightShape[0]
            let layer = try Convolution<Double>(
                geometry: problem.geometry, weight: data.tensor(problem.weightShape),
                bias: draw % 4 < 2 ? data.tensor([outChannels]) : nil)
            return (layer, problem.inputShape)
        }
    }

    static let activations: [LayerCase] = {
        let layers: [any Layer<Double>] = [
            ReLU(), LeakyReLU(negativeSlope: 0.2), Sigmoid(), Tanh(), LogSigmoid(), ELU(alpha: 0.7), SELU(),
            Softplus(beta: 2, threshold: 3), GELU(), SiLU(),
        ]
        return layers.map { layer in
            LayerCase(name: layer.typeName) { _ in (layer, [2, 3, 2]) }
        }
    }()

    static let reshapes: [LayerCase] = [
        LayerCase(name: "Flatten") { _ in (Flatten<Double>(), [2, 3, 2, 2]) },
        LayerCase(name: "Flatten(1, 2)") { _ in (Flatten<Double>(startDim: 1, endDim: 2), [2, 3, 2, 2]) },
        LayerCase(name: "Identity") { _ in (Identity<Double>(), [2, 3]) },
    ]
}
