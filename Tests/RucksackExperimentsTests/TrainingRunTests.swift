import Foundation
import Rucksack
import RucksackExamples
@testable import RucksackExperiments
import RucksackTestSupport
import Testing

/// 192 training and 64 test digits of the shipped MNIST subset.
private let digits: (train: LabeledImages, test: LabeledImages) = {
    let folder = try! DemoSetup.shippedMNISTSubset()
    return (try! DataSet.mnist.load(.train, from: folder, limit: 192), try! DataSet.mnist.load(.test, from: folder, limit: 64))
}()

private func settings(_ optimizer: OptimizerSettings, model: ZooModel = .logreg, epochs: Int = 2, seed: UInt64 = 0) throws -> RunSettings {
    try RunSettings(label: "run", dataSet: .mnist, model: model, initialization: .pytorchDefault, optimizer: optimizer, batchSize: 48,
                    epochs: epochs, seed: seed, trainEvaluationSize: 100, logsPerEpoch: 2, evaluationBatchSize: 64)
}

/// The log without its wall-clock times, which differ between runs.
private func numbers(_ rows: [LogRow]) -> [LogRow] { rows.map { var row = $0; row.wallSeconds = 0; return row } }

private let optimizers: [OptimizerSettings] = [
    .sgd(learningRate: 0.05, momentum: 0.9),
    .adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999),
    .kfac(learningRate: 0.05, damping: 1e-2, runningAverage: 0.9, inverseInterval: 3),
    .cgNewton(try! CGNewtonSettings(curvature: .pchAbs, products: .hbp, maxBlocks: 2, learningRate: 0.1, alpha: 0.05, maxIterations: 10)),
    .cgNewton(try! CGNewtonSettings(curvature: .ggn, products: .exact, learningRate: 0.1, alpha: 0.05, maxIterations: 10)),
]

@Suite struct TrainingRunTests {
    @Test(arguments: optimizers)
    func aSeedGivesTheSameNumbersAndAResumedRunContinuesTheSameCurve(optimizer: OptimizerSettings) throws {
        let straight = try TrainingRun(settings: settings(optimizer)).run(train: digits.train, test: digits.test)
        let again = try TrainingRun(settings: settings(optimizer)).run(train: digits.train, test: digits.test)
        #expect(numbers(straight) == numbers(again))
        // 4 batches per epoch, a log every 2 steps: steps 1 and 3 of each epoch.
        #expect(straight.map(\.step) == [1, 3, 5, 7])
        #expect(straight.map(\.epoch) == [0.25, 0.75, 1.25, 1.75])
        #expect(straight.last!.trainLoss < straight.first!.trainLoss)

        // One epoch, then two asked for in the same folder: the second resumes from the first's checkpoint.
        let folder = try temporaryFolder("resume\(optimizer.name)")
        let first = try TrainingRun(settings: settings(optimizer, epochs: 1)).run(train: digits.train, test: digits.test, folder: folder)
        #expect(numbers(first) == Array(numbers(straight).prefix(2)))
        let resumed = try TrainingRun(settings: settings(optimizer)).run(train: digits.train, test: digits.test, folder: folder)
        #expect(numbers(resumed) == numbers(straight))
        #expect(try RunLog.read(folder.appendingPathComponent(TrainingRun.logFile)) == resumed)
    }
}
