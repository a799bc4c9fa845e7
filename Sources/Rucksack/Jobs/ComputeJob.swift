import Foundation

/// What `rucksack compute` does: evaluate a model on a batch and return the requested
/// quantities under BackPACK's field names, ready to write as safetensors.
public struct ComputeJob<Scalar: TensorScalar>: Sendable {
    public var model: Model<Scalar>
    public var loss: any Loss<Scalar>
    public var quantities: [ComputeQuantity]
    /// Sample indices for the quantities in ``ComputeQuantity/subsampled`` (duplicates and any order allowed).
    public var subsampling: [Int]?
    /// Draws per sample for the Monte Carlo quantities (`diag_ggn_mc`, `kfac`, …).
    public var mcSamples: Int
    /// The seed of the Monte Carlo draws.
    public var seed: UInt64
    /// Whether results holding NaN or ±∞ are returned (the caller should warn) instead of
    /// refused. A non-finite loss is refused either way: the losses check their value.
    public var allowNonFinite: Bool
    /// The vector of ``ComputeQuantity/hvp`` and ``ComputeQuantity/ggnVP``: one tensor per
    /// parameter name, shaped like the parameter.
    public var vectors: [String: Tensor<Scalar>]?
    /// The most entries a parameter may have for the dense blocks (``ComputeQuantity/blocks``).
    public var maxBlockSize: Int
    /// The approximation switches and splitting of the `hbp_*_block` quantities (its curvature is
    /// set by each of them).
    public var hbp: HBP<Scalar>

    /// The default of ``maxBlockSize``: 4096 entries, a block of 128 MiB in Float64.
    public static var defaultMaxBlockSize: Int { 4096 }

    public init(
        model: Model<Scalar>, loss: any Loss<Scalar>, quantities: [ComputeQuantity], subsampling: [Int]? = nil,
        mcSamples: Int = 1, seed: UInt64 = 0, allowNonFinite: Bool = false, vectors: [String: Tensor<Scalar>]? = nil,
        maxBlockSize: Int = defaultMaxBlockSize, hbp: HBP<Scalar> = HBP()
    ) {
        self.hbp = hbp
        self.vectors = vectors
        self.maxBlockSize = maxBlockSize
        self.mcSamples = mcSamples
        self.seed = seed
        self.model = model
        self.loss = loss
        self.quantities = quantities
        self.subsampling = subsampling
        self.allowNonFinite = allowNonFinite
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

    /// What a job produced: the file to write, and the names of its entries that hold NaN or
    /// ±∞ (empty unless ``allowNonFinite``), for a warning.
    public struct Output: Sendable {
        public var file: SafeTensorsFile
        public var nonFiniteTensors: [String]
    }

    /// Runs the model on a batch and collects the quantities, all from one backward pass.
    public func run(input: Tensor<Scalar>, target: LossTarget<Scalar>) throws -> Output {
        try ComputeQuantity.checkSubsampling(subsampling, for: quantities)
        try checkBlockSizes()
        let products = ComputeQuantity.vectorProducts.filter(quantities.contains)
        if let first = products.first, vectors == nil { throw ComputeError.vectorsMissing(quantity: first.rawValue) }
        guard allowNonFinite || input.isFinite else { throw ComputeError.nonFinite(tensors: ["input"], origin: "the batch file") }
        let extensions: [any Quantity<Scalar>] = quantities.compactMap { $0.quantity(subsampling: subsampling, mcSamples: mcSamples, seed: seed, hbp: hbp) }
        let results: BackpropResults<Scalar>
        do {
            results = try model.compute(extensions, input: input, target: target, loss: loss)
        } catch LossError.nonFinite where !allowNonFinite {
            throw ComputeError.nonFinite(tensors: ["loss"], origin: try nonFiniteOrigin(input, loss: true))
        }
        var output = Output(file: SafeTensorsFile(), nonFiniteTensors: [])
        func insert(_ tensor: Tensor<Scalar>, named name: String) throws {
            if !tensor.isFinite { output.nonFiniteTensors.append(name) }
            try output.file.insert(ArrayData(tensor), named: name)
        }
        var vectorProducts: [(field: String, values: [String: Tensor<Scalar>])] = []
        for product in products {
            let values = product == .hvp
                ? try model.hessianVectorProduct(vectors!, input: input, target: target, loss: loss)
                : try model.ggnVectorProduct(vectors!, input: input, target: target, loss: loss)
            vectorProducts.append((product.rawValue, values))
        }
        if quantities.contains(.loss) { try insert(Tensor(results.loss), named: "loss") }
        for name in model.parameterNames {
            if quantities.contains(.grad), let gradient = results.gradients[name] { try insert(gradient, named: name + ".grad") }
            for quantity in extensions {
                for (field, tensor) in results.namedTensors(of: quantity, parameter: name) ?? [] { try insert(tensor, named: "\(name).\(field)") }
            }
            for (field, values) in vectorProducts { try insert(values[name]!, named: "\(name).\(field)") }
        }
        if !output.nonFiniteTensors.isEmpty, !allowNonFinite {
            let gradients = model.parameterNames.filter { results.gradients[$0].map { !$0.isFinite } ?? false }
            throw ComputeError.nonFinite(tensors: output.nonFiniteTensors, origin: try nonFiniteOrigin(input, gradientNames: gradients))
        }
        return output
    }

    /// Throws up front for a dense block of a parameter with more than ``maxBlockSize`` entries.
    private func checkBlockSizes() throws {
        guard let block = ComputeQuantity.blocks.first(where: quantities.contains) else { return }
        for name in model.parameterNames {
            let size = try model.parameter(name).count
            if size > maxBlockSize { throw ComputeError.blockTooLarge(quantity: block.rawValue, parameter: name, size: size, limit: maxBlockSize) }
        }
    }

    /// Where non-finite values first appear: the first layer of the forward pass whose output
    /// is not finite; else the loss; else the first layer the backward pass reaches (the last in
    /// forward order) with a non-finite gradient; else the quantities themselves.
    private func nonFiniteOrigin(_ input: Tensor<Scalar>, loss: Bool = false, gradientNames: [String] = []) throws -> String {
        if let layer = model.firstNonFiniteLayer(in: try model.forward(input)) { return "the forward pass, at layer \(layer)" }
        if loss { return "the loss, computed from finite model outputs" }
        if let last = gradientNames.last {
            return "the backward pass, at the parameters of layer \(last[..<(last.lastIndex(of: ".") ?? last.endIndex)])"
        }
        return "the quantities, computed from finite gradients (their values exceed the range of \(Scalar.self))"
    }
}

/// The quantities a compute job can produce, by their command-line names.
public enum ComputeQuantity: String, Sendable, CaseIterable {
    /// The reduced loss, as `loss` (a 0-d tensor).
    case loss
    /// The gradient of the loss, as `<param>.grad`.
    case grad
    /// Individual gradients, `<param>.grad_batch`, `[M, *θ]`.
    case batchGrad = "batch_grad"
    /// Their squared norms, `<param>.batch_l2`, `[M]`.
    case batchL2 = "batch_l2"
    /// `<param>.sum_grad_squared`, `θ`.
    case sumGradSquared = "sum_grad_squared"
    /// `<param>.variance`, `θ`.
    case variance
    /// Pairwise dot products of individual gradients, `<param>.batch_dot`, `[M, M]`.
    case batchDot = "batch_dot"
    /// The GGN diagonal, `<param>.diag_ggn_exact`, `θ`.
    case diagGGNExact = "diag_ggn_exact"
    /// Its Monte Carlo estimate, `<param>.diag_ggn_mc`, `θ`.
    case diagGGNMC = "diag_ggn_mc"
    /// Per-sample GGN diagonals, `<param>.diag_ggn_exact_batch`, `[N, *θ]`.
    case diagGGNExactBatch = "diag_ggn_exact_batch"
    /// Their Monte Carlo estimates, `<param>.diag_ggn_mc_batch`, `[N, *θ]`.
    case diagGGNMCBatch = "diag_ggn_mc_batch"
    /// The Hessian diagonal, `<param>.diag_h`, `θ`.
    case diagHessian = "diag_h"
    /// Per-sample Hessian diagonals, `<param>.diag_h_batch`, `[N, *θ]`.
    case diagHessianBatch = "diag_h_batch"
    /// A GGN square root, `<param>.sqrt_ggn_exact`, `[C, M, *θ]`.
    case sqrtGGNExact = "sqrt_ggn_exact"
    /// Its Monte Carlo version, `<param>.sqrt_ggn_mc`, `[mc-samples, M, *θ]`.
    case sqrtGGNMC = "sqrt_ggn_mc"
    /// Kronecker factors, `<param>.kfac.0`, `<param>.kfac.1`, … (see ``KroneckerFactors``).
    case kfac
    /// `<param>.kflr.0`, ….
    case kflr
    /// `<param>.kfra.0`, ….
    case kfra
    /// Each parameter's exact Hessian block, dense, `<param>.hessian_block`, `[|θ|, |θ|]`.
    case hessianBlock = "hessian_block"
    /// The exact GGN block, `<param>.ggn_block`.
    case ggnBlock = "ggn_block"
    /// The exact positive-curvature Hessian block with `|f''(x) ⊙ δ|`, `<param>.pch_abs_block`.
    case pchAbsBlock = "pch_abs_block"
    /// The same with `max(f''(x) ⊙ δ, 0)`, `<param>.pch_clip_block`.
    case pchClipBlock = "pch_clip_block"
    /// Hessian backpropagation's approximate Hessian block (``HBP``), dense, `<param>.hbp_hessian_block`.
    case hbpHessianBlock = "hbp_hessian_block"
    /// Its GGN block, `<param>.hbp_ggn_block`.
    case hbpGGNBlock = "hbp_ggn_block"
    /// Its PCH block with `|r|`, `<param>.hbp_pch_abs_block`.
    case hbpPCHAbsBlock = "hbp_pch_abs_block"
    /// Its PCH block with `max(r, 0)`, `<param>.hbp_pch_clip_block`.
    case hbpPCHClipBlock = "hbp_pch_clip_block"
    /// The whole-network Hessian times ``ComputeJob/vectors``, `<param>.hvp`, `θ`.
    case hvp
    /// The whole-network GGN times ``ComputeJob/vectors``, `<param>.ggn_vp`, `θ`.
    case ggnVP = "ggn_vp"

    /// The dense exact blocks, whose size ``ComputeJob/maxBlockSize`` bounds.
    public static let blocks: [ComputeQuantity] = [
        .hessianBlock, .ggnBlock, .pchAbsBlock, .pchClipBlock, .hbpHessianBlock, .hbpGGNBlock, .hbpPCHAbsBlock, .hbpPCHClipBlock,
    ]
    /// The whole-network products, which need ``ComputeJob/vectors``.
    public static let vectorProducts: [ComputeQuantity] = [.hvp, .ggnVP]

    /// The quantities that take sub-sampling indices.
    public static let subsampled: [ComputeQuantity] = [.batchGrad, .batchL2, .batchDot, .sqrtGGNExact, .sqrtGGNMC]

    /// Throws unless every requested quantity besides the loss and the gradient (which are
    /// always of the whole batch) uses `subsampling`, so that no index list is silently ignored.
    public static func checkSubsampling(_ subsampling: [Int]?, for quantities: [ComputeQuantity]) throws {
        guard subsampling != nil else { return }
        let ignoring = quantities.filter { !subsampled.contains($0) && $0 != .loss && $0 != .grad }
        if !ignoring.isEmpty || !quantities.contains(where: subsampled.contains) {
            throw ComputeError.subsamplingNotUsed(by: (ignoring.isEmpty ? quantities : ignoring).map(\.rawValue))
        }
    }

    /// The Rucksack quantity, if this is one besides the loss and gradient.
    public func quantity<Scalar: TensorScalar>(
        subsampling: [Int]?, mcSamples: Int = 1, seed: UInt64 = 0, hbp: HBP<Scalar> = HBP()
    ) -> (any Quantity<Scalar>)? {
        func approximated(_ curvature: CurvatureKind) -> CurvatureBlockMatrix<HBP<Scalar>> {
            var blocks = hbp
            blocks.curvature = curvature
            return CurvatureBlockMatrix(blocks, field: rawValue)
        }
        return switch self {
        case .loss, .grad, .hvp, .ggnVP: nil
        case .batchGrad: BatchGrad(subsampling: subsampling)
        case .batchL2: BatchL2Grad(subsampling: subsampling)
        case .sumGradSquared: SumGradSquared()
        case .variance: Variance()
        case .batchDot: BatchDot(subsampling: subsampling)
        case .diagGGNExact: DiagGGNExact()
        case .diagGGNMC: DiagGGNMC(mcSamples: mcSamples, seed: seed)
        case .diagGGNExactBatch: BatchDiagGGNExact()
        case .diagGGNMCBatch: BatchDiagGGNMC(mcSamples: mcSamples, seed: seed)
        case .diagHessian: DiagHessian()
        case .diagHessianBatch: BatchDiagHessian()
        case .sqrtGGNExact: SqrtGGNExact(subsampling: subsampling)
        case .sqrtGGNMC: SqrtGGNMC(mcSamples: mcSamples, seed: seed, subsampling: subsampling)
        case .kfac: KFAC(mcSamples: mcSamples, seed: seed)
        case .kflr: KFLR()
        case .kfra: KFRA()
        case .hessianBlock: CurvatureBlockMatrix(HMP(), field: rawValue)
        case .ggnBlock: CurvatureBlockMatrix(GGNMP(), field: rawValue)
        case .pchAbsBlock: CurvatureBlockMatrix(PCHMP(modification: .abs), field: rawValue)
        case .pchClipBlock: CurvatureBlockMatrix(PCHMP(modification: .clip), field: rawValue)
        case .hbpHessianBlock: approximated(.hessian)
        case .hbpGGNBlock: approximated(.ggn)
        case .hbpPCHAbsBlock: approximated(.pchAbs)
        case .hbpPCHClipBlock: approximated(.pchClip)
        }
    }
}

/// Problems with the inputs of a compute job.
public enum ComputeError: Error, Equatable, Sendable, CustomStringConvertible {
    case batch(reason: String)
    case unknownQuantity(name: String, known: [String])
    /// Sub-sampling indices given together with quantities that always use the whole batch.
    case subsamplingNotUsed(by: [String])
    /// Results holding NaN or ±∞, with where they first appear.
    case nonFinite(tensors: [String], origin: String)
    /// A dense block of a parameter with more entries than the limit.
    case blockTooLarge(quantity: String, parameter: String, size: Int, limit: Int)
    /// A whole-network product requested without its vector.
    case vectorsMissing(quantity: String)

    public var description: String {
        switch self {
        case let .batch(reason): "batch file: \(reason)"
        case let .unknownQuantity(name, known): "unknown quantity '\(name)'; known: \(known.joined(separator: ", "))"
        case let .nonFinite(tensors, origin):
            "non-finite values (NaN or ±∞) in \(tensors.prefix(5).joined(separator: ", "))\(tensors.count > 5 ? " and \(tensors.count - 5) more" : ""); "
                + "they first appear in \(origin). Check the inputs and weights, or pass --allow-non-finite to write them anyway"
        case let .blockTooLarge(quantity, parameter, size, limit):
            "\(quantity): parameter \(parameter) has \(size) entries, so its dense block would be \(size)×\(size) "
                + "(\(MemoryBudget.describe(size.multipliedReportingOverflow(by: size).overflow ? nil : MemoryBudget.bytes(elements: size * size, size: 8))) in float64); the limit is \(limit) entries: "
                + "raise it with --max-block-size, or use hvp/ggn_vp"
        case let .vectorsMissing(quantity):
            "\(quantity) multiplies with a vector: pass --vectors V.safetensors (one tensor per parameter name, shaped like the parameter)"
        case let .subsamplingNotUsed(names):
            "sub-sampling applies only to \(ComputeQuantity.subsampled.map(\.rawValue).joined(separator: ", ")); "
                + "\(names.joined(separator: ", ")) \(names.count == 1 ? "uses" : "use") the whole batch: "
                + "compute \(names.count == 1 ? "it" : "them") in a run without sub-sampling"
        }
    }
}
