import Rucksack
import RucksackExamples
import RucksackTestSupport
import Testing

/// The second-order optimizers against SGD on real digits: the MNIST subset the demo ships.
@Suite("second-order training")
struct SecondOrderTrainingTests {
    static let steps = 15

    /// A sigmoid network `784 → 16 → 10`, the same seeded start for every optimizer.
    static func network() throws -> Model<Float> {
        var model = Model<Float>(sequential: [Flatten(), try Linear(inFeatures: 784, outFeatures: 16), Sigmoid(), try Linear(inFeatures: 16, outFeatures: 10)])
        try model.initializeParameters(seed: 5)
        return model
    }

    /// Trains for ``steps`` batches of 64 and returns the loss on the first 512 training digits.
    static func train(_ step: (inout Model<Float>, LabeledImages) throws -> Void) throws -> Float {
        let train = try MNIST.load(.train, from: DemoSetup.shippedMNISTSubset(), limit: 2048)
        var model = try network()
        var stream = RandomStream(seed: 11)
        for batch in try train.shuffledBatches(size: 64, using: &stream).prefix(steps) { try step(&model, batch) }
        let evaluation = try train.subset(Array(0..<512))
        let loss = CrossEntropyLoss<Float>()
        return try loss.value(model(evaluation.images), .classes(shape: [512], indices: evaluation.labels))
    }

    @Test("KFAC and CGNewton (exact GGN blocks and HBP blocks) reach a lower training loss than SGD at its best of four learning rates in the same number of steps")
    func secondOrderBeatsSGD() throws {
        let loss = CrossEntropyLoss<Float>()
        // SGD at the best of several learning rates.
        let sgdLoss = try [0.1, 0.3, 1, 3].map { (rate: Float) in
            var sgd = try SGD<Float>(learningRate: rate)
            return try Self.train { model, batch in
                try sgd.step(&model, gradients: model.gradient(batch.images, batch.targets, loss: loss).gradients)
            }
        }.min()!
        var kfac = try KFACOptimizer(factors: KFAC<Float>(mcSamples: 1, seed: 3), learningRate: 0.3, damping: 1e-2, runningAverage: 0.9, inverseInterval: 5)
        let kfacLoss = try Self.train { model, batch in
            try kfac.step(&model, results: model.compute([kfac.factors], input: batch.images, target: batch.targets, loss: loss))
        }
        let exact = try CGNewton(curvature: GGNMP<Float>(), learningRate: 1, alpha: 0.1, relativeTolerance: 0.1, maxIterations: 20)
        let exactLoss = try Self.train { model, batch in
            try exact.step(&model, results: model.compute([exact.curvature], input: batch.images, target: batch.targets, loss: loss))
        }
        let hbp = try CGNewton(curvature: HBP<Float>(curvature: .pchAbs), learningRate: 0.1, alpha: 0.02, relativeTolerance: 0.1, maxIterations: 20)
        let hbpLoss = try Self.train { model, batch in
            try hbp.step(&model, results: model.compute([hbp.curvature], input: batch.images, target: batch.targets, loss: loss))
        }
        print("training loss after \(Self.steps) steps: SGD \(sgdLoss), KFAC \(kfacLoss), CGNewton GGN \(exactLoss), CGNewton HBP \(hbpLoss)")
        #expect(kfacLoss < sgdLoss, "KFAC \(kfacLoss) vs SGD \(sgdLoss)")
        #expect(exactLoss < sgdLoss, "CGNewton with exact GGN blocks \(exactLoss) vs SGD \(sgdLoss)")
        #expect(hbpLoss < sgdLoss, "CGNewton with HBP blocks \(hbpLoss) vs SGD \(sgdLoss)")
    }
}
