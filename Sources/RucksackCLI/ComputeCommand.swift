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
            All quantities come from one backward pass, except hvp and ggn_vp (the whole-network \
            Hessian and GGN times --vectors), which take a pass each. The dense exact blocks \
            (hessian_block, ggn_block, pch_abs_block, pch_clip_block) are [numel, numel] per parameter \
            in row-major flattening, refused above --max-block-size entries.
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
    @Option(help: "The vector for hvp and ggn_vp (safetensors, one tensor per parameter name, shaped like the parameter).")
    var vectors: String?
    @Option(help: "The most entries a parameter may have for the dense blocks (hessian_block, …).")
    var maxBlockSize = ComputeJob<Double>.defaultMaxBlockSize
    @Option(help: "hbp_*_block: average the input Jacobians before sandwiching (true, bpexts' default in Sequential) or after (false).")
    var hbpAverageInputJacobian = true
    @Option(help: "hbp_*_block: the parameter blocks use the mean input's outer product (true, bpexts' default) or the mean of outer products (false).")
    var hbpAverageParameterJacobian = true
    @Option(help: "hbp_*_block: cut each parameter's rows into at most this many chunks (torch.chunk); the block keeps their diagonal blocks, zeros between.")
    var hbpMaxBlocks: Int?

    func validate() throws {
        guard mcSamples > 0 else { throw ValidationError("--mc-samples must be positive, got \(mcSamples)") }
        guard maxBlockSize > 0 else { throw ValidationError("--max-block-size must be positive, got \(maxBlockSize)") }
        if let hbpMaxBlocks, hbpMaxBlocks < 1 { throw ValidationError("--hbp-max-blocks must be at least 1, got \(hbpMaxBlocks)") }
        let products = ComputeQuantity.vectorProducts.filter(quantities.values.contains)
        if vectors == nil, let first = products.first { throw ValidationError("\(ComputeError.vectorsMissing(quantity: first.rawValue))") }
        if vectors != nil, products.isEmpty { throw ValidationError("--vectors is used only by hvp and ggn_vp, which are not requested") }
        do {
            try ComputeQuantity.checkSubsampling(subsampling?.indices, for: quantities.values)
        } catch let error as ComputeError {
            throw ValidationError("--subsampling: \(error)")
        }
    }

    func run() throws {
        try checkOutput(output, inputs: [("--model", model), ("--weights", weights), ("--batch", batch)] + (vectors.map { [("--vectors", $0)] } ?? []))
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
        let vectorFile = try vectors.map { try SafeTensors.read(from: URL(fileURLWithPath: $0)) }
        let job = ComputeJob(
            model: network, loss: loss.make(reduction: reduction), quantities: quantities.values, subsampling: subsampling?.indices,
            mcSamples: mcSamples, seed: seed, allowNonFinite: allowNonFinite,
            vectors: try vectorFile.map { file in try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file[$0]!.tensor()) }) },
            maxBlockSize: maxBlockSize,
            hbp: HBP(averageInputJacobian: hbpAverageInputJacobian, averageParameterJacobian: hbpAverageParameterJacobian, maxBlocks: hbpMaxBlocks))
        let results = try job.run(input: input, target: target)
        if !results.nonFiniteTensors.isEmpty {
            writeToStandardError("rucksack: warning: non-finite values (NaN or ±∞) in \(results.nonFiniteTensors.joined(separator: ", "))\n")
        }
        try AtomicFile.write(SafeTensors.encode(results.file), to: URL(fileURLWithPath: output), beforeReplacing: pauseBeforeRenameForTests)
    }
}
