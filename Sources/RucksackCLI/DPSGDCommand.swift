import ArgumentParser
import Foundation
import Rucksack
import RucksackExamples

struct DPSGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-sgd",
        abstract: "Example: differentially private SGD on MNIST from individual gradients and their norms.",
        discussion: """
            Each step computes the individual gradients and their norms in one backward pass, clips \
            every sample's gradient to --clip-norm, adds Gaussian noise of deviation \
            --noise-multiplier × --clip-norm to the sum and divides by the batch size (Abadi et al. \
            2016). Rucksack does not account the privacy budget ε; use an accountant for that.
            """
    )

    @OptionGroup var options: TrainingOptions
    @Option(help: "SGD learning rate.") var learningRate: Float = 0.1
    @Option(help: "Per-sample gradient norm bound C.") var clipNorm: Float = 1
    @Option(help: "Noise deviation in units of C.") var noiseMultiplier: Float = 1

    func run() throws {
        announceMatrixBackend()
        let directory = try options.data.map { URL(fileURLWithPath: $0) } ?? DemoSetup.shippedMNISTSubset()
        let train = try MNIST.load(.train, from: directory), test = try MNIST.load(.test, from: directory)
        var training = PrivateTraining(
            model: try DemoSetup.network(seed: options.seed),
            privacy: try PrivateGradient(clipNorm: clipNorm, noiseMultiplier: noiseMultiplier),
            batchSize: options.batchSize, learningRate: learningRate)
        var stream = RandomStream(seed: options.seed)
        for epoch in 1...options.epochs {
            let loss = try training.trainEpoch(on: train, stream: &stream)
            print(String(format: "epoch %d: training loss %.4f, test accuracy %.1f %%", epoch, loss, 100 * (try training.model.accuracy(on: test))))
        }
    }
}
