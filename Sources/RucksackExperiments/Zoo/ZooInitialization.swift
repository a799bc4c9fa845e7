import Rucksack

/// How a zoo network draws its parameters; every scheme is seeded and reproducible.
public enum ZooInitialization: String, Sendable, CaseIterable {
    /// PyTorch's default for `Linear` and `Conv2d`: weights and biases `U(−1/√fan_in, 1/√fan_in)`.
    case pytorchDefault = "pytorch-default"
    /// `xavier_normal_` weights, zero biases (Chen et al.'s FCNNs, the HBP paper's Figure 4).
    case xavierNormal = "xavier-normal"
    /// DeepOBS' 3c3d: `xavier_normal_` convolution weights, `xavier_uniform_` linear weights, zero biases.
    case deepOBS3c3d = "deepobs-3c3d"
    /// DeepOBS' 2c2d: weights from a normal with deviation 0.05 truncated at two deviations, biases 0.05.
    case deepOBS2c2d = "deepobs-2c2d"
    /// DeepOBS' All-CNN-C: `xavier_normal_` weights, biases 0.1.
    case deepOBSAllCNNC = "deepobs-allcnnc"
    /// Everything zero (DeepOBS' logistic regression).
    case zeros

    /// Draws every `Linear` and `Conv2d` parameter of `model`.
    func apply(to model: inout Model<Float>, seed: UInt64) throws {
        if self == .pytorchDefault { return try model.initializeParameters(seed: seed) }
        var stream = RandomStream(seed: seed)
        for (path, layer) in model.root.layers() where layer is Linear<Float> || layer is Convolution<Float> {
            let weight = try layer.parameter("weight")
            let receptive = weight.shape.dropFirst(2).reduce(1, *)
            let (fanIn, fanOut) = (weight.shape[1] * receptive, weight.shape[0] * receptive)
            let xavier = (2 / Float(fanIn + fanOut)).squareRoot()
            let isLinear = layer is Linear<Float>
            let drawn: Tensor<Float>, bias: Float
            switch self {
            case .pytorchDefault: return
            case .xavierNormal: (drawn, bias) = (try stream.normal(shape: weight.shape, mean: 0, standardDeviation: xavier), 0)
            case .deepOBS3c3d:
                let bound = (6 / Float(fanIn + fanOut)).squareRoot()
                drawn = isLinear ? try stream.uniform(shape: weight.shape, low: -bound, high: bound)
                    : try stream.normal(shape: weight.shape, mean: 0, standardDeviation: xavier)
                bias = 0
            case .deepOBS2c2d: (drawn, bias) = (try truncatedNormal(weight.shape, deviation: 0.05, &stream), 0.05)
            case .deepOBSAllCNNC: (drawn, bias) = (try stream.normal(shape: weight.shape, mean: 0, standardDeviation: xavier), 0.1)
            case .zeros: (drawn, bias) = (try Tensor(zeros: weight.shape), 0)
            }
            try model.setParameter(path + "weight", to: drawn)
            if layer.parameterNames.contains("bias") {
                try model.setParameter(path + "bias", to: Tensor(repeating: bias, shape: [weight.shape[0]]))
            }
        }
    }

    /// A normal sample redrawn until it lies within two deviations, as TensorFlow's `truncated_normal`.
    private func truncatedNormal(_ shape: [Int], deviation: Float, _ stream: inout RandomStream) throws -> Tensor<Float> {
        let values = (0..<shape.reduce(1, *)).map { _ in
            var draw = stream.nextStandardNormal()
            while abs(draw) > 2 { draw = stream.nextStandardNormal() }
            return Float(draw) * deviation
        }
        return try Tensor(shape: shape, scalars: values)
    }
}
