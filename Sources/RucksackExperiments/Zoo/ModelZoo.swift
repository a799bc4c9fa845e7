import Foundation
import Rucksack

/// The networks of the HBP paper and of DeepOBS, with their initialisations, for any image
/// shape `[C, H, W]` and number of classes (the sizes of later layers follow the input).
public enum ZooModel: String, Sendable, CaseIterable {
    /// Chen et al. (2018)'s sigmoid fully connected network: 784-512-128-32-classes for 28×28×1
    /// images, otherwise inputs-1024-512-256-128-64-32-16-classes (HBP paper Figure 4).
    case fcnn
    /// The HBP paper's sigmoid CNN (Figure 5): four 3×3 convolutions, two max-poolings, three linear layers.
    case c4d3
    /// DeepOBS' 3c3d with its ReLUs and TensorFlow "same" pooling as explicit zero padding.
    case threeC3D = "3c3d"
    /// The HBP paper's 3c3d with sigmoids instead of ReLUs (supplement Figure S6).
    case threeC3DSigmoid = "3c3d-sigmoid"
    /// DeepOBS' 2c2d: two 5×5 convolutions with max pooling, a 1024-unit layer, ReLUs.
    case twoC2D = "2c2d"
    /// All-CNN-C (Springenberg et al., 2015) as in DeepOBS, without dropout, global average pooling.
    case allCNNC = "allcnnc"
    /// Logistic regression: one linear layer on the flattened image.
    case logreg
    /// The benchmark MLP: inputs-512-256-classes with ReLUs.
    case mlp

    /// The initialisation the network's source uses.
    public var defaultInitialization: ZooInitialization {
        switch self {
        case .fcnn: .xavierNormal
        case .c4d3, .mlp: .pytorchDefault
        case .threeC3D, .threeC3DSigmoid: .deepOBS3c3d
        case .twoC2D: .deepOBS2c2d
        case .allCNNC: .deepOBSAllCNNC
        case .logreg: .zeros
        }
    }

    /// The network as a model file (`Docs/model-format.md`), for `rucksack compute` and PyTorch.
    public func modelFile(imageShape: [Int], classes: Int) throws -> String {
        guard imageShape.count == 3, imageShape.allSatisfy({ $0 > 0 }), classes > 1 else {
            throw ZooError.unsupportedInput(model: rawValue, imageShape: imageShape, reason: "needs an image shape [C, H, W] and at least two classes")
        }
        let layers = try self.layers(imageShape, classes)
        return "{\"layers\": [\n" + layers.map { "  " + $0.json }.joined(separator: ",\n") + "\n]}\n"
    }

    /// The network with parameters drawn by `initialization` (default: the source's) from `seed`.
    public func model(imageShape: [Int], classes: Int, seed: UInt64, initialization: ZooInitialization? = nil) throws -> Model<Float> {
        var model: Model<Float> = try ModelFile.decode(Data(modelFile(imageShape: imageShape, classes: classes).utf8))
        try (initialization ?? defaultInitialization).apply(to: &model, seed: seed)
        return model
    }

    private func layers(_ image: [Int], _ classes: Int) throws -> [ZooLayer] {
        let (channels, features) = (image[0], image.reduce(1, *))
        var builder = ZooBuilder(shape: image, model: rawValue)
        switch self {
        case .fcnn:
            let widths = image == [1, 28, 28] ? [784, 512, 128, 32] : [features, 1024, 512, 256, 128, 64, 32, 16]
            builder.add(.flatten)
            for (input, output) in zip(widths, widths.dropFirst()) { builder.add(.linear(input, output), .sigmoid) }
            builder.add(.linear(widths.last!, classes))
        case .c4d3:
            builder.add(.conv(channels, 16, kernel: 3, padding: 1), .sigmoid, .conv(16, 16, kernel: 3, padding: 1), .sigmoid, .maxPool(kernel: 2, stride: 2),
                        .conv(16, 32, kernel: 3, padding: 1), .sigmoid, .conv(32, 32, kernel: 3, padding: 1), .sigmoid, .maxPool(kernel: 2, stride: 2), .flatten)
            builder.add(.linear(builder.features, 512), .sigmoid, .linear(512, 64), .sigmoid, .linear(64, classes))
        case .threeC3D, .threeC3DSigmoid:
            let activation: ZooLayer = self == .threeC3D ? .relu : .sigmoid
            builder.add(.conv(channels, 64, kernel: 5), activation)
            builder.addSamePool()
            builder.add(.conv(64, 96, kernel: 3), activation)
            builder.addSamePool()
            builder.add(.zeroPad(left: 1, right: 1, top: 1, bottom: 1), .conv(96, 128, kernel: 3), activation)
            builder.addSamePool()
            builder.add(.flatten)
            builder.add(.linear(builder.features, 512), activation, .linear(512, 256), activation, .linear(256, classes))
        case .twoC2D:
            builder.add(.conv(channels, 32, kernel: 5, padding: 2), .relu, .maxPool(kernel: 2, stride: 2),
                        .conv(32, 64, kernel: 5, padding: 2), .relu, .maxPool(kernel: 2, stride: 2), .flatten)
            builder.add(.linear(builder.features, 1024), .relu, .linear(1024, classes))
        case .allCNNC:
            let convolutions: [(Int, Int, Int, Int, Int)] = [  // in, out, kernel, stride, padding
                (channels, 96, 3, 1, 1), (96, 96, 3, 1, 1), (96, 96, 3, 2, 1), (96, 192, 3, 1, 1), (192, 192, 3, 1, 1), (192, 192, 3, 2, 1),
                (192, 192, 3, 1, 0), (192, 192, 1, 1, 0), (192, classes, 1, 1, 0),
            ]
            for c in convolutions { builder.add(.conv(c.0, c.1, kernel: c.2, stride: c.3, padding: c.4), .relu) }
            // Global average pooling: 6×6 for 32×32 images, as in DeepOBS.
            builder.add(.averagePool(kernel: builder.shape[1]), .flatten)
        case .logreg:
            builder.add(.flatten, .linear(features, classes))
        case .mlp:
            builder.add(.flatten, .linear(features, 512), .relu, .linear(512, 256), .relu, .linear(256, classes))
        }
        return try builder.finished()
    }
}

/// Collects layers while following the shape, so that later sizes adapt to the input.
private struct ZooBuilder {
    var shape: [Int]
    let model: String
    var layers: [ZooLayer] = []
    var tooSmall = false
    let input: [Int]

    init(shape: [Int], model: String) {
        self.shape = shape
        self.input = shape
        self.model = model
    }

    var features: Int { shape.reduce(1, *) }

    mutating func add(_ added: ZooLayer...) {
        for layer in added {
            layers.append(layer)
            shape = layer.outputShape(shape)
            if shape.contains(where: { $0 < 1 }) { tooSmall = true }
        }
    }

    /// TensorFlow's "same" 3×3 max pooling with stride 2: zero padding to `⌈size / 2⌉` outputs, more of it right and below.
    mutating func addSamePool() {
        func padding(_ size: Int) -> (Int, Int) {
            let total = max(((size + 1) / 2 - 1) * 2 + 3 - size, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = padding(shape[1]), (left, right) = padding(shape[2])
        if top + bottom + left + right > 0 { add(.zeroPad(left: left, right: right, top: top, bottom: bottom)) }
        add(.maxPool(kernel: 3, stride: 2))
    }

    func finished() throws -> [ZooLayer] {
        guard !tooSmall else {
            throw ZooError.unsupportedInput(model: model, imageShape: input, reason: "the image is too small: a layer's output would be empty")
        }
        return layers
    }
}

/// A zoo network that cannot be built for the input asked for.
public enum ZooError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedInput(model: String, imageShape: [Int], reason: String)

    public var description: String {
        switch self {
        case let .unsupportedInput(model, shape, reason): "model '\(model)' for images of shape \(shape): \(reason)"
        }
    }
}
