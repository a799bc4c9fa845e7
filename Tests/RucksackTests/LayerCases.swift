import Rucksack
import RucksackTestSupport

/// A layer with random parameters and an input shape it accepts, for derivative checks.
struct LayerCase: CustomStringConvertible, Sendable {
    var name: String
    var make: @Sendable (inout TestData) throws -> (layer: any Layer<Double>, inputShape: [Int])
    /// Inputs whose entries differ by 0.1, far more than the finite-difference steps, where the
    /// layer has kinks between equal inputs (max pooling).
    var wellSeparatedInput = false
    var description: String { name }

    /// A random input for the case.
    func input(_ data: inout TestData, shape: [Int]) -> Tensor<Double> {
        guard wellSeparatedInput else { return data.tensor(shape) }
        var values = (0..<shape.reduce(1, *)).map { Double($0) * 0.1 - 1 }
        values.shuffle(using: &data.stream)
        return try! Tensor(shape: shape, scalars: values)
    }

    /// Every layer family, several random hyper-parameter draws each.
    static let all: [LayerCase] = linear + convolutions + winogradConvolutions + activations + reshapes + pooling + padding + normalization
    /// The layers with parameters.
    static let parameterized: [LayerCase] = linear + convolutions + winogradConvolutions + normalization

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

    /// Convolutions that run as Winograd's F(2×2, 3×3) and F(2×2, 5×5): 3×3 and 5×5 kernels,
    /// stride 1, enough channels; padding equal and unequal, odd and even output sizes.
    static let winogradConvolutions: [LayerCase] = [
        (3, [1, 1], [1, 1], [2, 16, 5, 6]), (3, [0, 2], [1, 0], [2, 16, 4, 5]), (5, [2, 4], [1, 0], [2, 16, 5, 4]),
    ].enumerated().map { draw, setting in
        let (r, before, after, inputShape) = setting
        return LayerCase(name: "Conv2d \(r)×\(r) Winograd draw \(draw)") { data in
            let geometry = try ConvolutionGeometry(kernelSize: [r, r], padding: before, paddingAfter: after)
            let outChannels = Convolution<Double>.winogradMinimumChannels + draw
            // Weights of order 1/√fan-in keep the outputs, and the finite differences' rounding, of order one.
            let weight: Tensor<Double> = data.tensor([outChannels, inputShape[1], r, r])
            let layer = try Convolution<Double>(geometry: geometry, weight: weight * (1 / (4 * Double(r))), bias: data.tensor([outChannels]))
            return (layer, inputShape)
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

    static let pooling: [LayerCase] = (0..<12).flatMap { draw -> [LayerCase] in
        @Sendable func window(_ data: inout TestData, dilation: Bool) -> (PoolingWindow, [Int]) {
            data = TestData(seed: 200 + UInt64(draw))
            let rank = draw % 3 + 1
            let kernel = data.shape(rank: rank, extents: 1...3)
            let dilations = dilation ? data.shape(rank: rank, extents: 1...2) : kernel.map { _ in 1 }
            let padding = kernel.map { data.integer(0...($0 / 2)) }
            let window = PoolingWindow(
                kernelSize: kernel, stride: data.shape(rank: rank, extents: 1...3), padding: padding,
                dilation: dilations, ceilMode: draw % 2 == 0)
            let size = (0..<rank).map { dilations[$0] * (kernel[$0] - 1) + data.integer(1...(rank == 3 ? 2 : 4)) }
            return (window, [2, 2] + size)
        }
        return [
            LayerCase(name: "MaxPool draw \(draw)", make: { data in
                let (w, shape) = window(&data, dilation: true)
                return (try MaxPool<Double>(w), shape)
            }, wellSeparatedInput: true),
            LayerCase(name: "AvgPool draw \(draw)") { data in
                let (w, shape) = window(&data, dilation: false)
                return (try AvgPool<Double>(w, countIncludePad: draw % 4 < 2), shape)
            },
        ]
    } + [
        LayerCase(name: "AdaptiveAvgPool1d 5→3") { _ in (try AdaptiveAvgPool<Double>(outputSize: [3]), [2, 2, 5]) },
        LayerCase(name: "AdaptiveAvgPool2d 6x4→3x3") { _ in (try AdaptiveAvgPool<Double>(outputSize: [3, 3]), [2, 1, 6, 4]) },
        LayerCase(name: "AdaptiveAvgPool3d →1") { _ in (try AdaptiveAvgPool<Double>(outputSize: [1, 2, 1]), [2, 2, 3, 4, 2]) },
    ]

    static let padding: [LayerCase] = [
        LayerCase(name: "ZeroPad2d") { _ in (try ConstantPad<Double>(torchPadding: [1, 0, 2, 1], typeName: "ZeroPad2d"), [2, 1, 3, 2]) },
        LayerCase(name: "ConstantPad1d cropping") { _ in (try ConstantPad<Double>(torchPadding: [-1, 2], value: 0.5, typeName: "ConstantPad1d"), [2, 2, 4]) },
        LayerCase(name: "ConstantPad3d") { _ in (try ConstantPad<Double>(torchPadding: [1, 1, 0, 1, 1, 0], value: -2, typeName: "ConstantPad3d"), [2, 1, 2, 2, 2]) },
        LayerCase(name: "Dropout evaluation") { _ in (try Dropout<Double>(p: 0.3), [2, 5]) },
        LayerCase(name: "Dropout training") { _ in (try Dropout<Double>(p: 0.3, training: true, seed: 9), [2, 3, 4]) },
    ]

    static let normalization: [LayerCase] = [(1, [3, 4]), (1, [3, 4, 3]), (2, [2, 3, 2, 3]), (3, [2, 2, 2, 1, 3])].map { rank, shape in
        LayerCase(name: "BatchNorm\(rank)d \(shape)") { data in
            var layer = try BatchNorm<Double>(numFeatures: shape[1], spatialRank: rank, epsilon: 1e-3)
            try layer.setParameter("weight", to: data.tensor([shape[1]]))
            try layer.setParameter("bias", to: data.tensor([shape[1]]))
            try layer.setBuffer("running_mean", to: ArrayData(data.tensor([shape[1]], Double.self)))
            try layer.setBuffer("running_var", to: ArrayData(try data.stream.uniform(shape: [shape[1]], low: 0.5, high: 2) as Tensor<Double>))
            return (layer, shape)
        }
    }

    static let reshapes: [LayerCase] = [
        LayerCase(name: "Flatten") { _ in (Flatten<Double>(), [2, 3, 2, 2]) },
        LayerCase(name: "Flatten(1, 2)") { _ in (Flatten<Double>(startDim: 1, endDim: 2), [2, 3, 2, 2]) },
        LayerCase(name: "Identity") { _ in (Identity<Double>(), [2, 3]) },
    ]
}
