/// The families of `torch.nn` classes that come in 1-, 2- and 3-d variants.
private let spatialFamilies = ["Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "ConstantPad", "BatchNorm"]

/// Those classes by name: `Conv2d` is ("Conv", 2).
private let spatialLayerTypes: [String: (family: String, rank: Int)] = Dictionary(
    uniqueKeysWithValues: spatialFamilies.flatMap { family in (1...3).map { rank in ("\(family)\(rank)d", (family, rank)) } })

/// Turns a layer's `torch.nn` class name and constructor arguments into a Rucksack layer.
enum LayerFactory<Scalar: TensorScalar> {
    static func make(_ a: inout LayerArguments) throws -> any Layer<Scalar> {
        // Types without spatial variants are their own family; a bare family name is no type.
        let (family, rank) = spatialLayerTypes[a.type] ?? (spatialFamilies.contains(a.type) ? "" : a.type, 0)
        do {
            switch family {
            case "Linear":
                let (inFeatures, outFeatures, bias) = (try a.int("in_features"), try a.int("out_features"), try a.bool("bias", default: true))
                try a.checkState("weight", shape: [outFeatures, inFeatures], keys: ["out_features", "in_features"], of: Scalar.self)
                if bias { try a.checkState("bias", shape: [outFeatures], keys: ["out_features"], of: Scalar.self) }
                return try Linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: bias)
            case "Conv", "ConvTranspose":
                return try convolution(&a, rank: rank, transposed: family == "ConvTranspose")
            case "MaxPool":
                let window = try poolingWindow(&a, rank: rank, dilation: true)
                guard try !a.bool("return_indices", default: false) else { throw a.error("return_indices", "true is not supported") }
                return try MaxPool(window)
            case "AvgPool":
                let window = try poolingWindow(&a, rank: rank, dilation: false)
                guard a.value("divisor_override") == nil else { throw a.error("divisor_override", "is not supported") }
                return try AvgPool(window, countIncludePad: a.bool("count_include_pad", default: true))
            case "AdaptiveAvgPool":
                return try AdaptiveAvgPool(outputSize: a.ints("output_size", count: rank))
            case "ZeroPad2d":
                return try ConstantPad(torchPadding: a.ints("padding", count: 4), typeName: a.type)
            case "ConstantPad":
                return try ConstantPad(torchPadding: a.ints("padding", count: 2 * rank),
                                       value: Scalar(a.double("value")), typeName: a.type)
            case "Flatten":
                return Flatten(startDim: try a.int("start_dim", default: 1), endDim: try a.int("end_dim", default: -1))
            case "Identity":
                return Identity()
            case "Dropout":
                _ = try a.bool("inplace", default: false)
                return try Dropout(p: Scalar(a.double("p", default: 0.5)))
            case "BatchNorm":
                guard try a.bool("track_running_stats", default: true) else {
                    throw a.error("track_running_stats", "false is not supported: evaluation mode needs running statistics")
                }
                let (features, affine) = (try a.int("num_features"), try a.bool("affine", default: true))
                for name in (affine ? ["weight", "bias"] : []) + ["running_mean", "running_var"] {
                    try a.checkState(name, shape: [features], keys: ["num_features"], of: Scalar.self)
                }
                return try BatchNorm(
                    numFeatures: features, spatialRank: rank, epsilon: Scalar(a.double("eps", default: 1e-5)),
                    momentum: Scalar(a.double("momentum", default: 0.1)), affine: affine)
            default:
                return try activation(&a)
            }
        } catch let error as ModelFileError {
            throw error
        } catch {
            throw a.error(nil, String(describing: error))
        }
    }

    private static func activation(_ a: inout LayerArguments) throws -> any Layer<Scalar> {
        switch a.type {
        case "ReLU", "Sigmoid", "Tanh", "LogSigmoid", "SELU", "SiLU":
            if a.type != "Sigmoid", a.type != "Tanh", a.type != "LogSigmoid" { _ = try a.bool("inplace", default: false) }
            let layers: [String: any Layer<Scalar>] = [
                "ReLU": ReLU(), "Sigmoid": Sigmoid(), "Tanh": Tanh(), "LogSigmoid": LogSigmoid(), "SELU": SELU(), "SiLU": SiLU(),
            ]
            return layers[a.type]!
        case "LeakyReLU":
            _ = try a.bool("inplace", default: false)
            return LeakyReLU(negativeSlope: Scalar(try a.double("negative_slope", default: 0.01)))
        case "ELU":
            _ = try a.bool("inplace", default: false)
            return ELU(alpha: Scalar(try a.double("alpha", default: 1)))
        case "Softplus":
            return Softplus(beta: Scalar(try a.double("beta", default: 1)), threshold: Scalar(try a.double("threshold", default: 20)))
        case "GELU":
            _ = try a.string("approximate", default: "none", allowed: ["none"])
            return GELU()
        default:
            throw a.error("type", "unknown or unsupported layer type")
        }
    }

    private static func convolution(_ a: inout LayerArguments, rank: Int, transposed: Bool) throws -> any Layer<Scalar> {
        let (inChannels, outChannels) = (try a.int("in_channels"), try a.int("out_channels"))
        let kernel = try a.ints("kernel_size", count: rank)
        let stride = try a.ints("stride", count: rank, default: [Int](repeating: 1, count: rank))
        let dilation = try a.ints("dilation", count: rank, default: [Int](repeating: 1, count: rank))
        let zeros = [Int](repeating: 0, count: rank)
        var before = zeros, after = zeros
        let padding = a.value("padding")
        switch padding?.kind {
        case .string("valid")? where !transposed:
            break
        case .string("same")? where !transposed:
            guard stride.allSatisfy({ $0 == 1 }) else { throw a.error("padding", "\"same\" needs stride 1, as in PyTorch") }
            // PyTorch puts the odd element of the total padding after.
            let total = (0..<rank).map { dilation[$0] * (kernel[$0] - 1) }
            before = total.map { $0 / 2 }
            after = zip(total, before).map { $0 - $1 }
        default:
            before = try a.ints(padding, key: "padding", count: rank, default: zeros)
            after = before
        }
        if !transposed { _ = try a.string("padding_mode", default: "zeros", allowed: ["zeros"]) }
        let outputPadding = transposed ? try a.ints("output_padding", count: rank, default: zeros) : nil
        let geometry = try ConvolutionGeometry(
            kernelSize: kernel, stride: stride, padding: before, paddingAfter: after, dilation: dilation,
            groups: a.int("groups", default: 1), transposed: transposed, outputPadding: outputPadding)
        let bias = try a.bool("bias", default: true)
        // PyTorch's layouts: [out, in/G, *k], transposed [in, out/G, *k]; Convolution checks that G divides both.
        let groups = geometry.groups
        if inChannels % groups == 0, outChannels % groups == 0 {
            let leading = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups]
            try a.checkState("weight", shape: leading + kernel, keys: ["in_channels", "out_channels", "kernel_size"], of: Scalar.self)
            if bias { try a.checkState("bias", shape: [outChannels], keys: ["out_channels"], of: Scalar.self) }
        }
        return try Convolution(inChannels: inChannels, outChannels: outChannels, geometry: geometry, bias: bias)
    }

    private static func poolingWindow(_ a: inout LayerArguments, rank: Int, dilation: Bool) throws -> PoolingWindow {
        let kernel = try a.ints("kernel_size", count: rank)
        return PoolingWindow(
            kernelSize: kernel, stride: try a.ints("stride", count: rank, default: kernel),
            padding: try a.ints("padding", count: rank, default: [Int](repeating: 0, count: rank)),
            dilation: dilation ? try a.ints("dilation", count: rank, default: [Int](repeating: 1, count: rank)) : nil,
            ceilMode: try a.bool("ceil_mode", default: false))
    }
}
