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
            holds 'loss', and per parameter '<param>.grad' and '<param>.<quantity>' for every requested \
            quantity (BackPACK's field names and scaling; Kronecker factor lists as '<param>.kfac.0', \
            '<param>.kfac.1', …), in the compute precision. It is written only if everything succeeds. \
            All quantities come from one backward pass.
            """
    )

    enum Precision: String, ExpressibleByArgument, CaseIterable { case float32, float64 }

    @Option(help: "The model description (JSON).") var model: String
    @Option(help: "The weights (safetensors state_dict).") var weights: String
    @Option(help: "The batch (safetensors with 'input' and 'target').") var batch: String
    @Option(help: "The loss.") var loss: LossKind
    @Option(help: "The loss's reduction, as in PyTorch.") var reduction: Reduction = .mean
    @Option(help: "Comma-separated quantities.")
    var quantities = CommaSeparated<ComputeQuantity>([.loss, .grad])
    @Option(help: ArgumentHelp(
        "Comma-separated sample indices, e.g. 3,0,0,2 (order kept, duplicates allowed).",
        discussion: "Only for \(ComputeQuantity.subsampled.map(\.rawValue).joined(separator: ", ")); refused with the others (loss and grad are of the whole batch)."))
    var subsampling: SampleIndices?
    @Option(help: "Draws per sample for the Monte Carlo quantities (diag_ggn_mc, diag_ggn_mc_batch, sqrt_ggn_mc, kfac).")
    var mcSamples = 1
    @Option(help: "The seed of the Monte Carlo draws; the same seed gives the same results.") var seed: UInt64 = 0
    @Option(help: "Where to write the results (safetensors).") var output: String
    @Option(help: "The compute precision.") var dtype: Precision = .float32
    @Flag(help: "Write results that hold NaN or ±∞ (with a warning naming them) instead of refusing them; a non-finite loss is still refused.")
    var allowNonFinite = false
    @Option(help: "The most memory one tensor or input file may take, e.g. 512M or 24G (default: 3/4 of physical memory).")
    var memoryLimit: ByteCount?

    func validate() throws {
        guard mcSamples > 0 else { throw ValidationError("--mc-samples must be positive, got \(mcSamples)") }
        do {
            try ComputeQuantity.checkSubsampling(subsampling?.indices, for: quantities.values)
        } catch let error as ComputeError {
            throw ValidationError("--subsampling: \(error)")
        }
    }

    func run() throws {
        try checkOutput(output, inputs: [("--model", model), ("--weights", weights), ("--batch", batch)])
        removeTemporaryOutputOnSignals()
        announceMatrixBackend()
        try MemoryBudget.$limit.withValue(memoryLimit?.bytes ?? MemoryBudget.limit) {
            switch dtype {
            case .float32: try run(Float.self)
            case .float64: try run(Double.self)
            }
        }
    }

    private func run<Scalar: TensorScalar>(_: Scalar.Type) throws {
        let state = try SafeTensors.read(from: URL(fileURLWithPath: weights))
        let shapes = Dictionary(state.names.compactMap { name in state[name].map { (name, $0.shape) } }, uniquingKeysWith: { a, _ in a })
        var network: Model<Scalar> = try ModelFile.read(from: URL(fileURLWithPath: model), parameterShapes: shapes)
        try network.loadState(state)
        let (input, target) = try ComputeJob<Scalar>.readBatch(SafeTensors.read(from: URL(fileURLWithPath: batch)))
        let job = ComputeJob(
            model: network, loss: loss.make(reduction: reduction), quantities: quantities.values, subsampling: subsampling?.indices,
            mcSamples: mcSamples, seed: seed, allowNonFinite: allowNonFinite)
        let results = try job.run(input: input, target: target)
        if !results.nonFiniteTensors.isEmpty {
            writeToStandardError("rucksack: warning: non-finite values (NaN or ±∞) in \(results.nonFiniteTensors.joined(separator: ", "))\n")
        }
        try AtomicFile.write(SafeTensors.encode(results.file), to: URL(fileURLWithPath: output), beforeReplacing: pauseBeforeRenameForTests)
    }
}
