import Rucksack

/// Trains a classifier with Adam and watches its gradients: per epoch, the loss, the test
/// accuracy and, per layer, the gradient's signal-to-noise ratio (from the variance of the
/// individual gradients) and the spread of per-sample gradient norms. Every step is one
/// backward pass that yields the gradient, `Variance` and `BatchL2Grad` together.
public struct GradientStatisticsTraining: Sendable {
    public var model: Model<Float>
    public var batchSize: Int
    public var epochs: Int
    public var learningRate: Float
    public var seed: UInt64

    public init(model: Model<Float>, batchSize: Int = 64, epochs: Int = 3, learningRate: Float = 1e-3, seed: UInt64 = 0) {
        self.model = model
        self.batchSize = batchSize
        self.epochs = epochs
        self.learningRate = learningRate
        self.seed = seed
    }

    /// Gradient statistics of one layer over an epoch.
    public struct LayerStatistics: Sendable {
        /// The layer's path and type, e.g. `3 (Conv2d)`.
        public var layer: String
        /// `‖ḡ‖² / tr Var[g]` averaged over the epoch's steps, where `ḡ` is the mean individual
        /// gradient and `Var` their (biased) variance: above 1, the batch gradient points
        /// consistently; far below, it is mostly noise.
        public var signalToNoise: Float
        /// Quantiles (10 %, 50 %, 90 %) of the per-sample gradient norms over the epoch.
        public var normQuantiles: (p10: Float, median: Float, p90: Float)
    }

    /// What one epoch did.
    public struct EpochReport: Sendable {
        public var epoch: Int
        public var trainingLoss: Float
        public var testAccuracy: Float
        public var layers: [LayerStatistics]
    }

    /// Progress within an epoch, for a progress bar.
    public struct Progress: Sendable {
        public var epoch: Int
        public var step: Int
        public var steps: Int
        public var loss: Float
    }

    /// Trains on `train`, evaluates on `test` after each epoch, and returns the reports; `progress`
    /// hears about every step and `epochFinished` about every epoch as it ends.
    public mutating func run(
        train: LabeledImages, test: LabeledImages,
        progress: (Progress) -> Void = { _ in }, epochFinished: (EpochReport) -> Void = { _ in }
    ) throws -> [EpochReport] {
        var optimizer = try Adam<Float>(learningRate: learningRate)
        var stream = RandomStream(seed: seed)
        let loss = CrossEntropyLoss<Float>()
        let layers = model.root.layers().filter { !$0.layer.parameterNames.isEmpty }
        var reports: [EpochReport] = []
        for epoch in 1...max(epochs, 1) {
            let batches = try train.shuffledBatches(size: batchSize, using: &stream)
            let steps = batches.count
            var lossTotal: Float = 0
            var signal = [Float](repeating: 0, count: layers.count)
            var norms = [[Float]](repeating: [], count: layers.count)
            for (step, batch) in batches.enumerated() {
                let results = try model.compute([Variance(), BatchL2Grad()], input: batch.images, target: batch.targets, loss: loss)
                for (index, entry) in layers.enumerated() {
                    let names = entry.layer.parameterNames.map { entry.path + $0 }
                    let n = Float(batch.count)
                    var meanSquared: Float = 0, variance: Float = 0
                    var squaredNorms = [Float](repeating: 0, count: batch.count)
                    for name in names {
                        meanSquared += (results.gradients[name]! / n).squared().sumOfElements()
                        variance += results[Variance(), name]!.sumOfElements()
                        let l2: Tensor<Float> = results[BatchL2Grad(), name]!
                        for (i, value) in l2.scalars.enumerated() { squaredNorms[i] += value }
                    }
                    signal[index] += meanSquared / max(variance, .leastNormalMagnitude) / Float(steps)
                    norms[index] += squaredNorms.map { $0.squareRoot() }
                }
                try optimizer.step(&model, gradients: results.gradients)
                lossTotal += results.loss
                progress(Progress(epoch: epoch, step: step + 1, steps: steps, loss: lossTotal / Float(step + 1)))
            }
            let statistics = layers.indices.map { index in
                let sorted = norms[index].sorted()
                let quantile = { (q: Float) in sorted[min(sorted.count - 1, Int(q * Float(sorted.count)))] }
                return LayerStatistics(
                    layer: "\(layers[index].path.dropLast()) (\(layers[index].layer.typeName))",
                    signalToNoise: signal[index], normQuantiles: (quantile(0.1), quantile(0.5), quantile(0.9)))
            }
            let report = EpochReport(
                epoch: epoch, trainingLoss: lossTotal / Float(steps), testAccuracy: try model.accuracy(on: test), layers: statistics)
            epochFinished(report)
            reports.append(report)
        }
        return reports
    }
}
