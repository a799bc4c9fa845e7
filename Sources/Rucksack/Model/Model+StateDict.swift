extension Model {
    /// Parameter and buffer names in `state_dict` order: per layer, parameters then buffers.
    public var stateNames: [String] {
        root.layers().flatMap { path, layer in (layer.parameterNames + layer.bufferNames).map { path + $0 } }
    }

    /// Loads every parameter and buffer from a PyTorch `state_dict` saved as safetensors.
    ///
    /// Like `load_state_dict(strict=True)`: a missing or unexpected name, or a shape that does
    /// not fit, throws an error that names the entry. Float tensors are converted to `Scalar`.
    public mutating func loadState(_ file: SafeTensorsFile) throws {
        let expected = Set(stateNames)
        if let unexpected = file.names.first(where: { !expected.contains($0) }) {
            throw StateDictError.unexpected(name: unexpected)
        }
        for (path, layer) in root.layers() {
            let labels = path.split(separator: ".").map(String.init)
            for name in layer.parameterNames + layer.bufferNames {
                guard let array = file[path + name] else { throw StateDictError.missing(name: path + name) }
                do {
                    try root.updateLayer(at: labels[...]) { layer in
                        if layer.parameterNames.contains(name) {
                            try layer.setParameter(name, to: array.tensor())
                        } else {
                            try layer.setBuffer(name, to: array)
                        }
                    }
                } catch {
                    throw StateDictError.invalid(name: path + name, reason: String(describing: error))
                }
            }
        }
    }

    /// The parameters and buffers as a `state_dict`, ready to write as safetensors.
    public func state() throws -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for (path, layer) in root.layers() {
            for name in layer.parameterNames { try file.insert(ArrayData(layer.parameter(name)), named: path + name) }
            for name in layer.bufferNames { try file.insert(layer.buffer(name), named: path + name) }
        }
        return file
    }
}

/// A `state_dict` that does not fit the model.
public enum StateDictError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(name: String)
    case unexpected(name: String)
    case invalid(name: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(name): "weights: '\(name)' is missing"
        case let .unexpected(name): "weights: '\(name)' is not a parameter or buffer of the model"
        case let .invalid(name, reason): "weights: '\(name)': \(reason)"
        }
    }
}
