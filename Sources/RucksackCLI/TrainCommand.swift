#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Rucksack
import RucksackExamples
import RucksackExperiments

extension DataSet: ExpressibleByArgument {}
extension ZooModel: ExpressibleByArgument {}
extension ZooInitialization: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train zoo networks with SGD, Adam, KFAC or CGNewton by the HBP paper's protocol, one run or a config's set of runs.",
        discussion: """
            Under mpirun (mpirun -np K rucksack train …) the K processes train every run together: \
            each computes on its slice of every batch, and gradients, KFAC factors and CGNewton's \
            block products are summed over processes; process 0 evaluates, logs and writes. \
            With --config, runs every run of an experiment config (Docs/experiments.md) for each of its \
            seeds; without it, one run described by the options below. Each run writes \
            <output>/<name>/<run>/seed<k>/log.csv (step, epoch, wall_seconds, batch, train-subset and \
            test loss and accuracy), weights.safetensors, and after each epoch a checkpoint that a \
            stopped run resumes from; runs whose log.csv exists are skipped. The seeds of a run are \
            merged into <run>/merged.csv (mean and sample standard deviation). A NaN or infinite \
            loss stops that run, naming the step, in <run>/seed<k>/failed.txt; the other runs go on, \
            and the command ends with status 1.
            """
    )

    @Option(help: "An experiment config (JSON). The run options below are then not used.") var config: String?
    @Option(help: "The data set's folder (MNIST/Fashion-MNIST IDX files, CIFAR binary files); overrides the config's data_dir. Without either, MNIST uses the digits that ship with Rucksack.")
    var data: String?
    @Option(help: "Where runs are written.") var output = "runs"

    @Option(help: "Name of the output folder of a single run.") var name = "single"
    @Option(help: "Label of a single run (its folder and legend).") var label: String?
    @Option(name: .customLong("data-set"), help: "Data set.") var dataSet: DataSet = .mnist
    @Option(help: "Zoo network.") var model: ZooModel = .logreg
    @Option(help: "Initialisation (default: the network's own).") var initialization: ZooInitialization?
    @Option(help: "sgd, adam, kfac or cg-newton.") var optimizer = "sgd"
    @Option(help: "Learning rate (Adam: 1e-3 by default).") var lr: Float?
    @Option(help: "SGD momentum.") var momentum: Float?
    @Option(help: "KFAC damping (π-damped).") var damping: Float?
    @Option(help: "CGNewton curvature: ggn, pch-abs or pch-clip.") var curvature: String?
    @Option(help: "CGNewton blocks: exact or hbp.") var products: String?
    @Option(help: "CGNewton with HBP: split each parameter into at most this many blocks.") var maxBlocks: Int?
    @Option(help: "CGNewton's α: solves [(1−α)C + αI] d = −g.") var alpha: Float?
    @Option(help: "CGNewton: conjugate-gradient iterations per block.") var cgMaxIterations: Int?
    @Option(help: "CGNewton: conjugate gradients' relative tolerance.") var cgTolerance: Float?
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Epochs.") var epochs = 1
    @Option(help: "Seeds, comma-separated.") var seeds = "0"
    @Option(help: "Train on the first this many training samples.") var trainSize: Int?
    @Option(help: "Evaluate on the first this many test samples (default: all).") var testSize: Int?
    @Option(help: "Training samples drawn afresh for each log's training loss and accuracy.") var trainEvaluationSize = 10_000
    @Option(help: "Log entries per epoch.") var logsPerEpoch = 1

    func run() throws {
        let communicator = try Communicators.current()
        let failures: [ExperimentError]
        do {
            failures = try run(communicator)
            try communicator.finalize()
        } catch {
            guard communicator.size > 1 else { throw error }
            communicator.abort("rucksack train: \(error)")
        }
        guard failures.isEmpty else {
            if communicator.isRoot { writeToStandardError("rucksack train: \(failures.count) run(s) stopped on a non-finite loss:\n" + failures.map { "  \($0)\n" }.joined()) }
            throw ExitCode(1)
        }
    }

    private func run(_ communicator: any Communicator) throws -> [ExperimentError] {
        if communicator.isRoot { announceMatrixBackend() }
        let experimentConfig = try config.map { try ExperimentConfig.read(from: URL(fileURLWithPath: $0)) }
            ?? ExperimentConfig.decode(Array(singleRunConfig().utf8), path: "the command-line options", folder: URL(fileURLWithPath: "."))
        let directory = data.map { URL(fileURLWithPath: $0) } ?? experimentConfig.dataDirectory
        let experiment = Experiment(config: experimentConfig, output: URL(fileURLWithPath: output))
        let onTerminal = isatty(2) != 0
        return try experiment.train(data: { try load($0, from: directory, report: communicator.isRoot) }, communicator: communicator) { event in
            switch event {
            case let .skipped(label, seed, folder): print("\(label), seed \(seed): on disk in \(folder.path), skipped")
            case let .started(label, seed, folder, resuming):
                print("\(label), seed \(seed): \(resuming ? "resuming from the checkpoint" : "training") in \(folder.path)")
            case let .progress(p):
                if onTerminal { writeToStandardError(progressBar(epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss)) }
            case let .logged(row):
                print(String(format: "  epoch %.2f step %d: train loss %.4f acc %.1f %%, test loss %.4f acc %.1f %%, %.1f s",
                             row.epoch, row.step, row.trainLoss, 100 * row.trainAccuracy, row.testLoss, 100 * row.testAccuracy, row.wallSeconds))
            case let .finished(label, seed, seconds): print(String(format: "%@, seed %llu: done in %.1f s", label, seed, seconds))
            case let .failed(label, seed, error): print("\(label), seed \(seed): stopped: \(error)")
            }
        }
    }

    /// The options as a one-run config, so that both ways are checked by the same reader.
    func singleRunConfig() throws -> String {
        let seedList = seeds.split(separator: ",").map(String.init)
        guard !seedList.isEmpty, seedList.allSatisfy({ UInt64($0) != nil }) else { throw ValidationError("--seeds must be whole numbers separated by commas, got '\(seeds)'") }
        var run: [(String, String)] = [
            ("label", JSONValue.quoted(label ?? "\(optimizer)")), ("data", JSONValue.quoted(dataSet.rawValue)), ("model", JSONValue.quoted(model.rawValue)),
            ("optimizer", JSONValue.quoted(optimizer)), ("batch_size", "\(batchSize)"), ("epochs", "\(epochs)"), ("seeds", "[\(seedList.joined(separator: ","))]"),
            ("train_evaluation_size", "\(trainEvaluationSize)"), ("logs_per_epoch", "\(logsPerEpoch)"),
        ]
        let optional: [(String, String?)] = [
            ("initialization", initialization.map { JSONValue.quoted($0.rawValue) }), ("lr", lr.map { "\($0)" }), ("momentum", momentum.map { "\($0)" }),
            ("damping", damping.map { "\($0)" }), ("curvature", curvature.map(JSONValue.quoted)), ("products", products.map(JSONValue.quoted)),
            ("max_blocks", maxBlocks.map { "\($0)" }), ("alpha", alpha.map { "\($0)" }), ("cg_max_iterations", cgMaxIterations.map { "\($0)" }),
            ("cg_tolerance", cgTolerance.map { "\($0)" }), ("train_size", trainSize.map { "\($0)" }), ("test_size", testSize.map { "\($0)" }),
        ]
        run += optional.compactMap { key, value in value.map { (key, $0) } }
        let members = run.map { "\(JSONValue.quoted($0.0)): \($0.1)" }.joined(separator: ", ")
        return "{\"name\": \(JSONValue.quoted(name)), \"runs\": [{\(members)}]}"
    }
}

/// The training and test splits of a data set from `directory`, or the shipped MNIST digits.
func load(_ dataSet: DataSet, from directory: URL?, report: Bool) throws -> (train: LabeledImages, test: LabeledImages) {
    guard let directory = try directory ?? (dataSet == .mnist ? DemoSetup.shippedMNISTSubset() : nil) else {
        throw ValidationError("\(dataSet.rawValue) needs --data DIR (or data_dir in the config): the folder with its files")
    }
    let data = (try dataSet.load(.train, from: directory), try dataSet.load(.test, from: directory))
    if report { print("data: \(dataSet.rawValue), \(data.0.count) training and \(data.1.count) test images from \(directory.path)") }
    return data
}
