extension Model {
    /// Draws every parameter of `Linear` and convolution layers from PyTorch's default
    /// `U(−1/√fan_in, 1/√fan_in)`, with `fan_in` the weight's elements per output unit. Other
    /// parameters (batch norm) keep their values.
    public mutating func initializeParameters(seed: UInt64) throws {
        var stream = RandomStream(seed: seed)
        for (path, layer) in root.layers() where layer is Linear<Scalar> || layer is Convolution<Scalar> {
            let weight = try layer.parameter("weight")
            let bound = 1 / Scalar.sqrt(Scalar(Swift.max(weight.count / Swift.max(weight.shape[0], 1), 1)))
            for name in layer.parameterNames {
                let shape = try layer.parameter(name).shape
                try setParameter(path + name, to: stream.uniform(shape: shape, low: -bound, high: bound))
            }
        }
    }
}
