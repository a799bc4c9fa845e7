import ArgumentParser
import Foundation
import Rucksack

struct Compute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model on a batch and write the loss, gradients and other quantities.",
        discussion: """
            The model file is JSON (see Docs/model-format.md); the weights are a PyTorch state_dict \
            saved as safetensors; the batch holds 'input' (float32 or float64) and 'target' (int64 \
            class indices, or floats). The model runs in evaluation mode. The output safetensors file \
            holds 'loss', and per parameter '<param>.grad', '<param>.grad_batch', '<param>.batch_l2', \
            '<param>.sum_grad_squared', '<param>.variance', '<param>.batch_dot' as requested (BackPACK's \
            field names and scaling), in the compute precision. It is written only if everything \
            succeeds. All quantities come from one backward pass.
            """
    )

    enum Precision: String, ExpressibleByArgument, CaseIterable { case float32, float64 }

    @Option(help: "The model description (JSON).") var model: String
    @Option(help: "The weights (safetensors state_dict).") var weights: String
    @Option(help: "The batch (safetensors with 'input' and 'target').") var batch: String
    @Option(help: "cross-entropy, mse or bce-with-logits.") var loss: String
    @Option(help: "mean or sum, as PyTorch's reduction.") var reduction: String = "mean"
    @Option(help: "Comma-separated quantities: \(ComputeJob<Float>.Quantity.allCases.map(\.rawValue).joined(separator: ", ")).")
    var quantities: String = "loss,grad"
    @Option(help: "Comma-separated sample indices for batch_grad, batch_l2 and batch_dot, e.g. 3,0,0,2.")
    var subsampling: String?
    @Option(help: "Where to write the results (safetensors).") var output: String
    @Option(help: "Compute precision: float32 or float64.") var dtype: Precision = .float32

    func validate() throws {
        guard LossKind(rawValue: loss) != nil else {
            throw ValidationError("--loss must be one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard Reduction(rawValue: reduction) != nil else { throw ValidationError("--reduction must be mean or sum") }
    }

    func run() throws {
        announceMatrixBackend()
        switch dtype {
        case .float32: try run(Float.self)
        case .float64: try run(Double.self)
        }
    }

    private func run<Scalar: TensorScalar>(_: Scalar.Type) throws {
        let requested = try quantities.split(separator: ",").map { name in
            guard let quantity = ComputeJob<Scalar>.Quantity(rawValue: String(name)) else {
                throw ComputeError.unknownQuantity(name: String(name), known: ComputeJob<Scalar>.Quantity.allCases.map(\.rawValue))
            }
            return quantity
        }
        var network: Model<Scalar> = try ModelFile.read(from: URL(fileURLWithPath: model))
        try network.loadState(SafeTensors.read(from: URL(fileURLWithPath: weights)))
        let (input, target) = try ComputeJob<Scalar>.readBatch(SafeTensors.read(from: URL(fileURLWithPath: batch)))
        let indices = try subsampling.map { text in
            try text.split(separator: ",").map { item in
                guard let index = Int(item.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--subsampling must list integers, got '\(item)'")
                }
                return index
            }
        }
        let job = ComputeJob(
            model: network, loss: LossKind(rawValue: loss)!.make(reduction: Reduction(rawValue: reduction)!),
            quantities: requested, subsampling: indices)
        try SafeTensors.write(job.run(input: input, target: target), to: URL(fileURLWithPath: output))
    }
}
