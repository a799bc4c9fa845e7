import Rucksack

/// DP-SGD training of a classifier: every step clips individual gradients, adds noise and takes
/// an SGD step (see ``PrivateGradient``). A worked example of building on individual gradients.
public struct PrivateTraining: Sendable {
    public var model: Model<Float>
    public var privacy: PrivateGradient<Float>
    public var batchSize: Int
    public var learningRate: Float

    public init(model: Model<Float>, privacy: PrivateGradient<Float>, batchSize: Int = 64, learningRate: Float = 0.1) {
        self.model = model
        self.privacy = privacy
        self.batchSize = batchSize
        self.learningRate = learningRate
    }

    /// Trains for one epoch; returns the mean training loss (per sample).
    public mutating func trainEpoch(on train: LabeledImages, stream: inout RandomStream) throws -> Float {
        var optimizer = try SGD<Float>(learningRate: learningRate)
        // Summed loss: the individual gradients are the raw per-sample gradients the clipping refers to.
        let loss = CrossEntropyLoss<Float>(reduction: .sum)
        var total: Float = 0
        for batch in try train.shuffledBatches(size: batchSize, using: &stream) {
            let results = try model.compute(privacy.quantities, input: batch.images, target: batch.targets, loss: loss)
            let gradients = try privacy.privatize(results, parameters: model.parameterNames, stream: &stream)
            try optimizer.step(&model, gradients: gradients)
            total += results.loss
        }
        return total / Float(max(train.count, 1))
    }
}
