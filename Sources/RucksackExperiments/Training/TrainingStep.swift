import Rucksack

/// One optimizer bound to its state: it runs the backward pass its update needs on its share of
/// a batch (``DataParallel``) and updates the model. Checkpoints save and restore its state.
protocol TrainingStep {
    /// Updates `model`; returns the batch's mean loss and its correct predictions before the update.
    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> (loss: Float, correct: Int)
    func savedState() throws -> [String: Tensor<Float>]
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws
}

extension OptimizerSettings {
    /// The optimizer with fresh state.
    func makeStep(seed: UInt64, parallel: DataParallel) throws -> any TrainingStep {
        switch self {
        case let .sgd(learningRate, momentum):
            return FirstOrderStep(parallel: parallel, optimizer: try SGD<Float>(learningRate: learningRate, momentum: momentum))
        case let .adam(learningRate, beta1, beta2):
            return FirstOrderStep(parallel: parallel, optimizer: try Adam<Float>(learningRate: learningRate, beta1: beta1, beta2: beta2))
        case let .kfac(learningRate, damping, runningAverage, inverseInterval):
            return KFACStep(seed: seed, parallel: parallel, optimizer: try KFACOptimizer(
                factors: KFAC<Float>(), learningRate: learningRate, damping: damping, runningAverage: runningAverage, inverseInterval: inverseInterval))
        case let .cgNewton(settings):
            switch (settings.products, settings.curvature) {
            case (.hbp, let kind): return try CGNewtonStep(HBP<Float>(curvature: kind, maxBlocks: settings.maxBlocks), settings, parallel)
            case (.exact, .ggn): return try CGNewtonStep(GGNMP<Float>(), settings, parallel)
            case (.exact, .pchClip): return try CGNewtonStep(PCHMP<Float>(modification: .clip), settings, parallel)
            case (.exact, _): return try CGNewtonStep(PCHMP<Float>(modification: .abs), settings, parallel)
            }
        }
    }
}

private let loss = CrossEntropyLoss<Float>()

/// The pass on this process's slice of `batch`, with what the step reports. A non-finite loss
/// on any process is seen by all of them in the same sum, so that all stop at the same step.
private func pass(_ model: Model<Float>, _ batch: LabeledImages, _ quantities: [any Quantity<Float>], _ parallel: DataParallel)
    throws -> (results: BackpropResults<Float>, weight: Float, loss: Float, correct: Int) {
    let (slice, weight) = try parallel.slice(batch)
    var results: BackpropResults<Float>?
    do { results = try model.compute(quantities, input: slice.images, target: slice.targets, loss: loss) } catch LossError.nonFinite {}
    let (total, correct) = try parallel.combine(
        loss: results?.loss ?? .nan, correct: try results.map { try $0.output.correctPredictions(slice.labels) } ?? 0, weight: weight)
    guard let results, total.isFinite else { throw LossError.nonFinite(loss: "CrossEntropyLoss", value: Double(total)) }
    return (results, weight, total, correct)
}

/// SGD or Adam: the plain gradient.
private struct FirstOrderStep<O: Optimizer & StatefulOptimizer>: TrainingStep where O.Scalar == Float {
    let parallel: DataParallel
    var optimizer: O

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> (loss: Float, correct: Int) {
        let (results, weight, total, correct) = try pass(model, batch, [], parallel)
        try optimizer.step(&model, gradients: parallel.combine(results.gradients, weight: weight))
        return (total, correct)
    }

    func savedState() throws -> [String: Tensor<Float>] { try optimizer.savedState() }
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws { try optimizer.restoreState(state) }
}

/// KFAC with a Monte Carlo seed drawn from the run's seed and the step, so every step samples anew.
private struct KFACStep: TrainingStep {
    let seed: UInt64
    let parallel: DataParallel
    var optimizer: KFACOptimizer<KFAC<Float>>

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> (loss: Float, correct: Int) {
        // Each process draws its own samples: the seed also depends on the rank.
        let factors = KFAC<Float>(mcSamples: 1, seed: TrainingRun.mix(seed, 3 + UInt64(parallel.communicator.rank), UInt64(stepIndex)))
        let (results, weight, total, correct) = try pass(model, batch, [factors], parallel)
        var lists: [String: KroneckerFactors<Float>] = [:]
        var flat: [String: Tensor<Float>] = [:]
        for name in model.parameterNames {
            guard let list = results[factors, name] else { throw ExperimentError.invalidSetting(key: "optimizer", reason: "KFAC gave no factors for \(name)") }
            lists[name] = list
            for (b, block) in list.blocks.enumerated() { for (f, factor) in block.enumerated() { flat["\(name)|\(b)|\(f)"] = factor } }
        }
        for (name, gradient) in results.gradients { flat["\(name)|gradient"] = gradient }
        // Factors and gradients in one sum over processes.
        let combined = try parallel.combine(flat, weight: weight)
        for name in model.parameterNames {
            lists[name] = KroneckerFactors(blocks: lists[name]!.blocks.enumerated().map { b, block in block.indices.map { combined["\(name)|\(b)|\($0)"]! } })
        }
        let gradients = Dictionary(uniqueKeysWithValues: model.parameterNames.map { ($0, combined["\($0)|gradient"]!) })
        try optimizer.step(&model, gradients: gradients, factors: lists)
        return (total, correct)
    }

    func savedState() throws -> [String: Tensor<Float>] { try optimizer.savedState() }
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws { try optimizer.restoreState(state) }
}

/// CGNewton: stateless, it solves from zero at every step; on several processes every block
/// product inside conjugate gradients is summed over them, so all take the same iterations.
private struct CGNewtonStep<Curvature: Quantity<Float>>: TrainingStep where Curvature.Value == CurvatureBlock<Float> {
    let optimizer: CGNewton<Curvature>
    let parallel: DataParallel

    init(_ curvature: Curvature, _ settings: CGNewtonSettings, _ parallel: DataParallel) throws {
        optimizer = try CGNewton(
            curvature: curvature, learningRate: settings.learningRate, alpha: settings.alpha, relativeTolerance: settings.relativeTolerance,
            absoluteTolerance: settings.absoluteTolerance, maxIterations: settings.maxIterations)
        self.parallel = parallel
    }

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> (loss: Float, correct: Int) {
        let (results, weight, total, correct) = try pass(model, batch, [optimizer.curvature], parallel)
        var products: [String: (Tensor<Float>) throws -> Tensor<Float>] = [:]
        for name in model.parameterNames {
            guard let block = results[optimizer.curvature, name] else { throw ExperimentError.invalidSetting(key: "optimizer", reason: "no curvature block for \(name)") }
            let parallel = parallel
            products[name] = { v in try parallel.combine(["v": block.apply(v)], weight: weight)["v"]! }
        }
        try optimizer.step(&model, gradients: parallel.combine(results.gradients, weight: weight), products: products)
        return (total, correct)
    }

    func savedState() throws -> [String: Tensor<Float>] { [:] }

    mutating func restoreState(_ state: [String: Tensor<Float>]) throws {
        guard state.isEmpty else { throw ExperimentError.invalidSetting(key: "optimizer", reason: "CGNewton keeps no state, but the checkpoint holds \(state.keys.sorted())") }
    }
}
