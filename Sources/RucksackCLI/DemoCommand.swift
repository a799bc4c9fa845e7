#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Rucksack
import RucksackExamples

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small CNN on MNIST digits and watch its gradients: the main demo.",
        discussion: """
            Trains two 5×5 convolutions with max pooling and a linear classifier with Adam. Every \
            step is one backward pass that also yields the variance and the norms of the individual \
            gradients. Per epoch it prints the loss, the test accuracy and, per layer, the gradient's \
            signal-to-noise ratio ‖ḡ‖²/tr Var[g] and the 10/50/90 % quantiles of per-sample gradient \
            norms (the individual gradients carry the 1/N of the mean loss, as in BackPACK). Without --data it uses 4000 training and 1000 test digits that ship with Rucksack.
            """
    )

    @OptionGroup var options: TrainingOptions
    @Option(help: "Training images to use (default: all).") var trainSize: Int?
    @Option(help: "Test images to use (default: all).") var testSize: Int?
    @Option(help: "Adam's learning rate.") var learningRate: Float = 2e-3

    func validate() throws {
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive") }
    }

    func run() throws {
        announceMatrixBackend()
        let directory = try options.data.map { URL(fileURLWithPath: $0) } ?? DemoSetup.shippedMNISTSubset()
        let train = try MNIST.load(.train, from: directory, limit: trainSize)
        let test = try MNIST.load(.test, from: directory, limit: testSize)
        print("data: \(train.count) training and \(test.count) test images from \(options.data ?? "the shipped MNIST subset")")
        var training = GradientStatisticsTraining(
            model: try DemoSetup.network(seed: options.seed),
            batchSize: options.batchSize, epochs: options.epochs, learningRate: learningRate, seed: options.seed)
        let start = ContinuousClock.now
        // A progress bar only on a terminal; logs get the per-epoch lines alone.
        let onTerminal = isatty(2) != 0
        _ = try training.run(train: train, test: test, progress: { p in
            if onTerminal { writeToStandardError(progressBar(epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss)) }
        }) { report in
            print(String(format: "epoch %d: training loss %.4f, test accuracy %.1f %%", report.epoch, report.trainingLoss, 100 * report.testAccuracy))
            print("  " + pad("layer", 16) + pad("gradient SNR", 14) + "per-sample gradient norm (with 1/N): 10 %   median   90 %")
            for layer in report.layers {
                let (p10, median, p90) = layer.normQuantiles
                print("  " + pad(layer.layer, 16) + pad(String(format: "%.4f", layer.signalToNoise), 14)
                      + String(format: "                                    %.4f   %.4f   %.4f", p10, median, p90))
            }
        }
        print(String(format: "time: %.1f s", (ContinuousClock.now - start).seconds))
    }
}

/// `epoch 1 [=========>          ] 31/63 loss 0.8123`, redrawn in place; a newline ends each epoch.
func progressBar(epoch: Int, step: Int, steps: Int, loss: Float) -> String {
    let width = 30
    let filled = steps > 0 ? step * width / steps : width
    let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
    return "\repoch \(epoch) [\(bar)] \(step)/\(steps) loss \(String(format: "%.2f", loss))" + (step == steps ? "\n" : "")
}

