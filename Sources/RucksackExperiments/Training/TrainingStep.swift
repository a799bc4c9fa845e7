import Rucksack

/// One optimizer bound to its state: it runs the backward pass its update needs on a batch and
/// updates the model. Checkpoints save and restore its state.
protocol TrainingStep {
    /// The pass's results (loss and output before the update) after updating `model`.
    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> BackpropResults<Float>
    func savedState() throws -> [String: Tensor<Float>]
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws
}

extension OptimizerSettings {
    /// The optimizer with fresh state.
    func makeStep(seed: UInt64) throws -> any TrainingStep {
        switch self {
        case let .sgd(learningRate, momentum):
            return FirstOrderStep(optimizer: try SGD<Float>(learningRate: learningRate, momentum: momentum))
        case let .adam(learningRate, beta1, beta2):
            return FirstOrderStep(optimizer: try Adam<Float>(learningRate: learningRate, beta1: beta1, beta2: beta2))
        case let .kfac(learningRate, damping, runningAverage, inverseInterval):
            return KFACStep(seed: seed, optimizer: try KFACOptimizer(
                factors: KFAC<Float>(), learningRate: learningRate, damping: damping, runningAverage: runningAverage, inverseInterval: inverseInterval))
        case let .cgNewton(settings):
            switch (settings.products, settings.curvature) {
            case (.hbp, let kind): return try CGNewtonStep(HBP<Float>(curvature: kind, maxBlocks: settings.maxBlocks), settings)
            case (.exact, .ggn): return try CGNewtonStep(GGNMP<Float>(), settings)
            case (.exact, .pchClip): return try CGNewtonStep(PCHMP<Float>(modification: .clip), settings)
            case (.exact, _): return try CGNewtonStep(PCHMP<Float>(modification: .abs), settings)
            }
        }
    }
}

private let loss = CrossEntropyLoss<Float>()

/// SGD or Adam: the plain gradient.
private struct FirstOrderStep<O: Optimizer & StatefulOptimizer>: TrainingStep where O.Scalar == Float {
    var optimizer: O

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> BackpropResults<Float> {
        let results = try model.compute([], input: batch.images, target: batch.targets, loss: loss)
        try optimizer.step(&model, gradients: results.gradients)
        return results
    }

    func savedState() throws -> [String: Tensor<Float>] { try optimizer.savedState() }
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws { try optimizer.restoreState(state) }
}

/// KFAC with a Monte Carlo seed drawn from the run's seed and the step, so every step samples anew.
private struct KFACStep: TrainingStep {
    let seed: UInt64
    var optimizer: KFACOptimizer<KFAC<Float>>

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> BackpropResults<Float> {
        optimizer.factors = KFAC(mcSamples: 1, seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(stepIndex))
        let results = try model.compute([optimizer.factors], input: batch.images, target: batch.targets, loss: loss)
        try optimizer.step(&model, results: results)
        return results
    }

    func savedState() throws -> [String: Tensor<Float>] { try optimizer.savedState() }
    mutating func restoreState(_ state: [String: Tensor<Float>]) throws { try optimizer.restoreState(state) }
}

/// CGNewton: stateless, it solves from zero at every step.
private struct CGNewtonStep<Curvature: Quantity<Float>>: TrainingStep where Curvature.Value == CurvatureBlock<Float> {
    let optimizer: CGNewton<Curvature>

    init(_ curvature: Curvature, _ settings: CGNewtonSettings) throws {
        optimizer = try CGNewton(
            curvature: curvature, learningRate: settings.learningRate, alpha: settings.alpha, relativeTolerance: settings.relativeTolerance,
            absoluteTolerance: settings.absoluteTolerance, maxIterations: settings.maxIterations)
    }

    mutating func step(_ model: inout Model<Float>, batch: LabeledImages, stepIndex: Int) throws -> BackpropResults<Float> {
        let results = try model.compute([optimizer.curvature], input: batch.images, target: batch.targets, loss: loss)
        try optimizer.step(&model, results: results)
        return results
    }

    func savedState() throws -> [String: Tensor<Float>] { [:] }

    mutating func restoreState(_ state: [String: Tensor<Float>]) throws {
        guard state.isEmpty else { throw ExperimentError.invalidSetting(key: "optimizer", reason: "CGNewton keeps no state, but the checkpoint holds \(state.keys.sorted())") }
    }
}
