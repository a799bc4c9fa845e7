/// The `weight` and optional `bias` of an affine layer, looked up and replaced by PyTorch name.
public struct WeightAndBias<Scalar: TensorScalar>: Sendable {
    public internal(set) var weight: Tensor<Scalar>
    public internal(set) var bias: Tensor<Scalar>?

    var names: [String] { bias == nil ? ["weight"] : ["weight", "bias"] }

    func get(_ name: String, layer: String) throws -> Tensor<Scalar> {
        switch name {
        case "weight": return weight
        case "bias": if let bias { return bias }
        default: break
        }
        throw LayerError.unknownParameter(layer: layer, name: name)
    }

    /// Replaces a parameter by one of the same shape.
    mutating func set(_ name: String, to value: Tensor<Scalar>, layer: String) throws {
        let current = try get(name, layer: layer)
        guard value.shape == current.shape else {
            throw LayerError.shapeMismatch(layer: layer, operation: name, expected: current.shape, got: value.shape)
        }
        if name == "weight" { weight = value } else { bias = value }
    }
}
