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
    /// A curvature product after the pass (see ``CurvatureProductBenchmark``).
    case product(CurvatureProductBenchmark)

    static var grad: BenchmarkConfiguration { .quantity(.grad) }

    static var allCases: [BenchmarkConfiguration] {
        let dense = ComputeQuantity.blocks + ComputeQuantity.vectorProducts
        return ComputeQuantity.allCases.filter { $0 != .loss && !dense.contains($0) }.map { .quantity($0) } + [.four, .all]
            + CurvatureProductBenchmark.allCases.map { .product($0) }
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
        case let .product(product): product.rawValue
        }
    }

    /// One timed step: the pass with the quantities, and a product's own work after it.
    func step(_ model: Model<Float>, input: Tensor<Float>, target: LossTarget<Float>, loss: CrossEntropyLoss<Float>, vector: [String: Tensor<Float>]) throws {
        guard case let .product(product) = self else {
            _ = try model.compute(quantities, input: input, target: target, loss: loss)
            return
        }
        try product.step(model, input: input, target: target, loss: loss, vector: vector)
    }

    /// The quantities computed with the gradient.
    var quantities: [any Quantity<Float>] {
        let four: [ComputeQuantity] = [.batchGrad, .batchL2, .sumGradSquared, .variance]
        let names: [ComputeQuantity] = switch self {
        case let .quantity(quantity): [quantity]
        case .four: four
        case .all: four + [.batchDot]
        case .product: []
        }
        return names.compactMap { $0.quantity(subsampling: nil) }
    }
}

/// The curvature products of `rucksack bench problems`, each timed from the batch with the
/// forward and backward passes included, as a peer's matrix–vector product is: one product of
/// each parameter's exact block (`hmp`, `ggnmp`, `pchmp` with `|r|`), a whole-network product
/// (`hvp`, `ggn_vp`), or one CGNewton step on the exact GGN blocks (α = 0.05, conjugate
/// gradients to 0.1 relative residual or 50 iterations per block, bpexts' experiment settings).
enum CurvatureProductBenchmark: String, CaseIterable, Sendable, ExpressibleByArgument {
    case hmp, ggnmp, pchmp, hvp
    case ggnVP = "ggn_vp"
    case cgNewtonStep = "cg_newton_step"

    func step(_ model: Model<Float>, input: Tensor<Float>, target: LossTarget<Float>, loss: CrossEntropyLoss<Float>, vector: [String: Tensor<Float>]) throws {
        func blocks<Q: Quantity<Float>>(_ quantity: Q) throws where Q.Value == CurvatureBlock<Float> {
            let results = try model.compute([quantity], input: input, target: target, loss: loss)
            for (name, v) in vector { _ = try results[quantity, name]!.apply(v.unsqueezed(at: 0)) }
        }
        switch self {
        case .hmp: try blocks(HMP())
        case .ggnmp: try blocks(GGNMP())
        case .pchmp: try blocks(PCHMP(modification: .abs))
        case .hvp: _ = try model.hessianVectorProduct(vector, input: input, target: target, loss: loss)
        case .ggnVP: _ = try model.ggnVectorProduct(vector, input: input, target: target, loss: loss)
        case .cgNewtonStep:
            let optimizer = try CGNewton(curvature: GGNMP<Float>(), learningRate: 1, alpha: 0.05, relativeTolerance: 0.1, absoluteTolerance: 0, maxIterations: 50)
            var copy = model
            try optimizer.step(&copy, results: model.compute([optimizer.curvature], input: input, target: target, loss: loss))
        }
    }
}
