import ArgumentParser
import Rucksack

/// The five standard problems of the BackPACK paper and DeepOBS, for `rucksack bench problems`
/// and `scripts/benchmark/compare.py` (which builds the same networks in PyTorch).
enum BenchmarkProblem: String, CaseIterable, ExpressibleByArgument {
    case mnistLogreg = "mnist_logreg"
    case mnistMLP = "mnist_mlp"
    case fmnist2c2d = "fmnist_2c2d"
    case cifar10_3c3d = "cifar10_3c3d"
    case cifar100AllCNNC = "cifar100_allcnnc"

    var batchSize: Int {
        switch self {
        case .mnistLogreg, .mnistMLP, .fmnist2c2d: 128
        case .cifar10_3c3d: 64
        case .cifar100AllCNNC: 32
        }
    }

    var inputShape: [Int] { self == .cifar10_3c3d || self == .cifar100AllCNNC ? [batchSize, 3, 32, 32] : [batchSize, 1, 28, 28] }
    var classes: Int { self == .cifar100AllCNNC ? 100 : 10 }

    /// The network, with PyTorch's default initialisation from `seed`.
    func model(seed: UInt64) throws -> Model<Float> {
        func conv(_ input: Int, _ output: Int, _ kernel: Int, stride: Int = 1, padding: Int = 0) throws -> any Layer<Float> {
            try Convolution(inChannels: input, outChannels: output, geometry: ConvolutionGeometry(
                kernelSize: [kernel, kernel], stride: [stride, stride], padding: [padding, padding]))
        }
        func pool(_ kernel: Int, stride: Int, padding: Int = 0) throws -> any Layer<Float> {
            try MaxPool(PoolingWindow(kernelSize: [kernel, kernel], stride: [stride, stride], padding: [padding, padding]))
        }
        let layers: [any Layer<Float>]
        switch self {
        case .mnistLogreg:
            layers = [Flatten(), try Linear(inFeatures: 784, outFeatures: 10)]
        case .mnistMLP:
            layers = [Flatten(), try Linear(inFeatures: 784, outFeatures: 512), ReLU(), try Linear(inFeatures: 512, outFeatures: 256), ReLU(),
                      try Linear(inFeatures: 256, outFeatures: 10)]
        case .fmnist2c2d:
            layers = [try conv(1, 32, 5, padding: 2), ReLU(), try pool(2, stride: 2), try conv(32, 64, 5, padding: 2), ReLU(), try pool(2, stride: 2),
                      Flatten(), try Linear(inFeatures: 3136, outFeatures: 1024), ReLU(), try Linear(inFeatures: 1024, outFeatures: 10)]
        case .cifar10_3c3d:
            layers = [try conv(3, 64, 5), ReLU(), try pool(3, stride: 2, padding: 1), try conv(64, 96, 3), ReLU(), try pool(3, stride: 2, padding: 1),
                      try conv(96, 128, 3, padding: 1), ReLU(), try pool(3, stride: 2, padding: 1), Flatten(),
                      try Linear(inFeatures: 1152, outFeatures: 512), ReLU(), try Linear(inFeatures: 512, outFeatures: 256), ReLU(),
                      try Linear(inFeatures: 256, outFeatures: 10)]
        case .cifar100AllCNNC:
            let blocks: [(Int, Int, Int, Int, Int)] = [  // in, out, kernel, stride, padding
                (3, 96, 3, 1, 1), (96, 96, 3, 1, 1), (96, 96, 3, 2, 1), (96, 192, 3, 1, 1), (192, 192, 3, 1, 1), (192, 192, 3, 2, 1),
                (192, 192, 3, 1, 0), (192, 192, 1, 1, 0), (192, 100, 1, 1, 0),
            ]
            layers = try blocks.flatMap { b in [try conv(b.0, b.1, b.2, stride: b.3, padding: b.4), ReLU()] as [any Layer<Float>] }
                + [try AvgPool(PoolingWindow(kernelSize: [6, 6])), Flatten()]
        }
        var model = Model<Float>(sequential: layers)
        try model.initializeParameters(seed: seed)
        return model
    }
}

/// What one benchmark step computes besides the loss and gradient: nothing (`grad`), one
/// quantity by its `compute` name, BackPACK's four together (`four`), or every first-order
/// quantity (`all`).
enum BenchmarkConfiguration: Equatable, CaseIterable, RawRepresentable, ExpressibleByArgument {
    case quantity(ComputeQuantity)
    /// `batch_grad`, `batch_l2`, `sum_grad_squared` and `variance` in one pass: BackPACK's four.
    case four
    case all

    static var grad: BenchmarkConfiguration { .quantity(.grad) }

    static var allCases: [BenchmarkConfiguration] {
        ComputeQuantity.allCases.filter { $0 != .loss }.map { .quantity($0) } + [.four, .all]
    }

    init?(rawValue: String) {
        guard let configuration = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = configuration
    }

    var rawValue: String {
        switch self {
        case let .quantity(quantity): quantity.rawValue
        case .four: "four"
        case .all: "all"
        }
    }

    /// The quantities computed with the gradient.
    var quantities: [any Quantity<Float>] {
        let four: [ComputeQuantity] = [.batchGrad, .batchL2, .sumGradSquared, .variance]
        let names: [ComputeQuantity] = switch self {
        case let .quantity(quantity): [quantity]
        case .four: four
        case .all: four + [.batchDot]
        }
        return names.compactMap { $0.quantity(subsampling: nil) }
    }
}
