import Foundation

/// What `rucksack compute` does: evaluate a model on a batch and return the requested
/// quantities under BackPACK's field names, ready to write as safetensors.
public struct ComputeJob<Scalar: TensorScalar>: Sendable {
    /// The quantities a job can produce.
    public enum Quantity: String, Sendable, CaseIterable {
        /// The reduced loss, as `loss` (a 0-d tensor).
        case loss
        /// The gradient of the loss, as `<param>.grad`.
        case grad
    }

    public var model: Model<Scalar>
    public var loss: any Loss<Scalar>
    public var quantities: [Quantity]

    public init(model: Model<Scalar>, loss: any Loss<Scalar>, quantities: [Quantity]) {
        self.model = model
        self.loss = loss
        self.quantities = quantities
    }

    /// Reads a batch file: `input` (float) and `target` (int64 class indices or floats).
    public static func readBatch(_ file: SafeTensorsFile) throws -> (input: Tensor<Scalar>, target: LossTarget<Scalar>) {
        guard let input = file["input"], let target = file["target"] else {
            throw ComputeError.batch(reason: "needs tensors 'input' and 'target', found \(file.names)")
        }
        guard input.dtype == .float32 || input.dtype == .float64 else {
            throw ComputeError.batch(reason: "'input' must be float32 or float64, got \(input.dtype)")
        }
        switch target.dtype {
        case .int64, .int32, .uint8:
            return (try input.tensor(), .classes(shape: target.shape, indices: try target.int64Values().map { Int($0) }))
        case .float32, .float64:
            return (try input.tensor(), .values(try target.tensor()))
        case .bool:
            throw ComputeError.batch(reason: "'target' must hold class indices (int64) or floats, got \(target.dtype)")
        }
    }

    /// Runs the model on a batch and collects the quantities.
    public func run(input: Tensor<Scalar>, target: LossTarget<Scalar>) throws -> SafeTensorsFile {
        let (value, gradients) = try model.gradient(input, target, loss: loss)
        var results = SafeTensorsFile()
        for quantity in quantities {
            switch quantity {
            case .loss:
                try results.insert(ArrayData(Tensor(value)), named: "loss")
            case .grad:
                for name in model.parameterNames {
                    try results.insert(ArrayData(gradients[name]!), named: name + ".grad")
                }
            }
        }
        return results
    }
}

/// Problems with the inputs of a compute job.
public enum ComputeError: Error, Equatable, Sendable, CustomStringConvertible {
    case batch(reason: String)
    case unknownQuantity(name: String, known: [String])

    public var description: String {
        switch self {
        case let .batch(reason): "batch file: \(reason)"
        case let .unknownQuantity(name, known): "unknown quantity '\(name)'; known: \(known.joined(separator: ", "))"
        }
    }
}
