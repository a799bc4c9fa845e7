import Foundation
import Rucksack
import RucksackExamples
@testable import RucksackExperiments
import Testing

@Suite struct ExperimentTests {
    @Test func seedsMergeIntoMeansAndSampleDeviations() {
        func row(_ loss: Double) -> LogRow {
            LogRow(step: 1, epoch: 0.5, wallSeconds: loss, batchLoss: loss, batchAccuracy: 0, trainLoss: loss, trainAccuracy: 0, testLoss: 0, testAccuracy: 1)
        }
        let merged = MergedLog([[row(1), row(2)], [row(3)], [row(5), row(0)]])
        #expect(merged.seeds == 3)
        #expect(merged.mean["train_loss"] == [3])  // the shortest log decides the length
        #expect(merged.deviation["train_loss"] == [2])  // sample deviation of 1, 3, 5
        #expect(merged.deviation["test_accuracy"] == [0])
        #expect(merged.csv.hasPrefix("step_mean,step_std,epoch_mean,epoch_std,"))
    }

    @Test func logsRoundTripAndBrokenLinesAreNamed() throws {
        let rows = [LogRow(step: 3, epoch: 0.25, wallSeconds: 1.5, batchLoss: 2.25, batchAccuracy: 0.125, trainLoss: 2, trainAccuracy: 0.5, testLoss: 2.5, testAccuracy: 0.375)]
        #expect(try RunLog.parse(RunLog.csv(rows), path: "x") == rows)
        #expect(throws: ExperimentError.invalidLog(path: "x", line: 2, reason: "expected 9 numbers, the first a whole step")) {
            try RunLog.parse(RunLog.csv(rows).replacingOccurrences(of: "2.25", with: "nan?"), path: "x")
        }
    }

    @Test func aConfigRunsOnceSkipsWhatIsOnDiskAndDrawsItsFigures() throws {
        let folder = try temporaryFolder()
        let text = """
            {"name": "tiny", "data": "mnist", "model": "logreg", "initialization": "pytorch-default", "batch_size": 100, "epochs": 1,
             "train_size": 200, "test_size": 100, "train_evaluation_size": 100, "logs_per_epoch": 2, "seeds": [0, 1],
             "runs": [{"label": "SGD", "optimizer": "sgd", "lr": 0.1}, {"label": "CG, 2 blocks", "optimizer": "cg-newton", "curvature": "ggn",
                       "products": "hbp", "max_blocks": 2, "lr": 0.5, "alpha": 0.1, "cg_max_iterations": 5}]}
            """
        let experiment = Experiment(config: try ExperimentConfig.decode(Array(text.utf8), path: "tiny.json", folder: folder), output: folder)
        let data = { (_: DataSet) in
            (try DataSet.mnist.load(.train, from: DemoSetup.shippedMNISTSubset()), try DataSet.mnist.load(.test, from: DemoSetup.shippedMNISTSubset()))
        }
        var started = 0, skipped = 0
        try experiment.train(data: data) { if case .started = $0 { started += 1 } }
        try experiment.train(data: data) { if case .skipped = $0 { skipped += 1 } }
        #expect((started, skipped) == (4, 4))
        let merged = try String(contentsOf: folder.appendingPathComponent("tiny/cg-2-blocks/merged.csv"), encoding: .utf8)
        #expect(merged.split(separator: "\n").count == 3)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tiny/sgd/seed1/weights.safetensors").path))
        let figures = try experiment.plot()
        #expect(figures.map(\.lastPathComponent) == ["train_loss-vs-epoch.svg", "test_accuracy-vs-epoch.svg", "summary.md"])
        let table = try String(contentsOf: figures[2], encoding: .utf8).split(separator: "\n")
        #expect(table.count == 4 && table[2].hasPrefix("| SGD | 2 | 1.0 | ") && table[3].hasPrefix("| CG, 2 blocks | 2 | 1.0 | "))
        let svg = try String(contentsOf: figures[0], encoding: .utf8)
        #expect(svg.contains("CG, 2 blocks (2 seeds)"))
    }

    @Test func aNonFiniteLossStopsTheRunAtItsStep() throws {
        let settings = try RunSettings(label: "too fast", dataSet: .mnist, model: .mlp, optimizer: .sgd(learningRate: 1e30, momentum: 0),
                                       batchSize: 50, epochs: 1, seed: 0, trainEvaluationSize: 10, logsPerEpoch: 1)
        let train = try DataSet.mnist.load(.train, from: DemoSetup.shippedMNISTSubset(), limit: 200)
        do {
            _ = try TrainingRun(settings: settings).run(train: train, test: train)
            Issue.record("a learning rate of 1e30 trained without a non-finite loss")
        } catch let ExperimentError.nonFiniteLoss(run, epoch, step) {
            #expect(run == "too fast" && epoch == 1 && (1...4).contains(step))
        }
    }

    @Test func aRunThatDivergesIsRecordedAndTheOthersGoOn() throws {
        let folder = try temporaryFolder()
        let text = """
            {"name": "mixed", "data": "mnist", "model": "mlp", "batch_size": 50, "train_size": 200, "test_size": 50, "train_evaluation_size": 50,
             "runs": [{"label": "too fast", "optimizer": "sgd", "lr": 1e30}, {"label": "fine", "optimizer": "sgd", "lr": 0.01}]}
            """
        let experiment = Experiment(config: try ExperimentConfig.decode(Array(text.utf8), path: "mixed.json", folder: folder), output: folder)
        let data = { (_: DataSet) in
            (try DataSet.mnist.load(.train, from: DemoSetup.shippedMNISTSubset()), try DataSet.mnist.load(.test, from: DemoSetup.shippedMNISTSubset()))
        }
        let failures = try experiment.train(data: data)
        #expect(failures.count == 1)
        let message = try String(contentsOf: folder.appendingPathComponent("mixed/too-fast/seed0/failed.txt"), encoding: .utf8)
        #expect(message.hasPrefix("run too fast: the loss became NaN or infinite at step"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("mixed/fine/seed0/log.csv").path))
        #expect(try experiment.train(data: data).isEmpty)  // both are on disk now
        let svg = try String(contentsOf: experiment.plot()[0], encoding: .utf8)
        #expect(svg.contains("too fast (loss became NaN)"))
    }
}
