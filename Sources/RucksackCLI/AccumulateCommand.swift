#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Rucksack
import RucksackExamples

extension DataSetAccumulation.Field: ExpressibleByArgument {}
extension DataSplit: ExpressibleByArgument {}

struct Accumulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One pass over a data set: the gradient of the data-set loss, second moments, variance, GGN diagonals, Kronecker factors and per-sample norms; on one process or on MPI.",
        discussion: """
            Started by mpirun (mpirun -np K rucksack accumulate …), every process takes every K-th \
            batch (of --batch-size samples, or file of --batches), and one allreduce merges the sums; rank 0 writes the \
            output, which equals a single process's up to the order of summation. 'mean' is the mean \
            over the whole data set (BackPACK's scaling, with N the data set's size); the variance \
            comes from merged moments; batch_l2 lists every sample in data-set order. The processes \
            check at start that they run the same model, weights and options, and an error on any \
            process ends them all.
            """
    )

    @Option(help: "The data set's folder (MNIST/Fashion-MNIST IDX or CIFAR binary files); default: the MNIST digits that ship with Rucksack.")
    var data: String?
    @Option(help: "Instead of --data: a folder of batch files (safetensors with 'input' and 'target', as compute reads), taken in name order, one batch each.")
    var batches: String?
    @Option(name: .customLong("data-set"), help: "The data set.") var dataSet: DataSet = .mnist
    @Option(help: "The split to pass over.") var split: DataSplit = .train
    @Option(help: "Use the first this many samples of the split.") var samples: Int?
    @Option(help: "The model description (JSON).") var model: String
    @Option(help: "The weights (safetensors state_dict).") var weights: String
    @Option(help: "The loss (the data sets' class labels need cross-entropy).") var loss: LossKind = .crossEntropy
    @Option(help: "The reduction: mean over the whole data set, or sum.") var reduction: Reduction = .mean
    @Option(help: "Comma-separated quantities.") var quantities = CommaSeparated<DataSetAccumulation<Float>.Field>([.loss, .grad])
    @Option(help: "Samples per batch.") var batchSize = 128
    @Option(help: "Draws per sample for diag_ggn_mc and kfac.") var mcSamples = 1
    @Option(help: "The seed of the Monte Carlo draws.") var seed: UInt64 = 0
    @Option(help: "The compute precision.") var dtype: Compute.Precision = .float32
    @Option(help: "Where rank 0 writes the results (safetensors).") var output: String

    func validate() throws {
        guard batchSize > 0, mcSamples > 0, (samples ?? 1) > 0 else { throw ValidationError("--batch-size, --mc-samples and --samples must be positive") }
        guard loss == .crossEntropy || batches != nil else { throw ValidationError("--loss: the data sets have class labels, which only cross-entropy takes") }
        guard data == nil || batches == nil else { throw ValidationError("give --data or --batches, not both") }
    }

    func run() throws {
        let communicator = try Communicators.current()
        do {
            if communicator.isRoot {
                try checkOutput(output, inputs: [("--model", model), ("--weights", weights)])
                removeTemporaryOutputOnSignals()
                announceMatrixBackend()
            }
            switch dtype {
            case .float32: try run(Float.self, communicator)
            case .float64: try run(Double.self, communicator)
            }
            try communicator.finalize()
        } catch {
            guard communicator.size > 1 else { throw error }
            communicator.abort("rucksack accumulate: \(error)")
        }
    }

    private func run<Scalar: TensorScalar>(_: Scalar.Type, _ communicator: any Communicator) throws {
        let modelBytes = try FileBytes.read(from: URL(fileURLWithPath: model)), weightBytes = try FileBytes.read(from: URL(fileURLWithPath: weights))
        try communicator.requireSameJob(modelBytes + weightBytes + Array(CommandLine.arguments.dropFirst().joined(separator: "\u{0}").utf8))
        let state = try SafeTensors.decode(weightBytes)
        var network: Model<Scalar> = try ModelFile.decode(Data(modelBytes), parameterShapes: Dictionary(state.names.map { ($0, state[$0]!.shape) }) { a, _ in a })
        try network.loadState(state)
        if let rank = ProcessInfo.processInfo.environment["RUCKSACK_TEST_KILL_RANK"].flatMap(Int.init), rank == communicator.rank {
            kill(getpid(), SIGKILL)  // for the test that a lost process ends the job
        }
        let accumulation = DataSetAccumulation(
            model: network, loss: loss, reduction: reduction, fields: quantities.values.compactMap { DataSetAccumulation<Scalar>.Field(rawValue: $0.rawValue) },
            batchSize: batchSize, mcSamples: mcSamples, seed: seed)
        let file: SafeTensorsFile
        if let batches {
            let folder = URL(fileURLWithPath: batches)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".safetensors") }.sorted()
            guard !names.isEmpty else { throw ValidationError("--batches \(batches) holds no .safetensors files") }
            file = try accumulation.run(batches: names.count, communicator: communicator) { index in
                try ComputeJob<Scalar>.readBatch(SafeTensors.read(from: folder.appendingPathComponent(names[index])))
            }
        } else {
            let directory = try data.map { URL(fileURLWithPath: $0) } ?? (dataSet == .mnist ? DemoSetup.shippedMNISTSubset() : nil)
            guard let directory else { throw ValidationError("\(dataSet.rawValue) needs --data DIR") }
            let images = try dataSet.load(split, from: directory, limit: samples)
            file = try accumulation.run(count: images.count, communicator: communicator) { range in
                let batch = try images.subset(Array(range))
                return (try Tensor<Scalar>(shape: batch.images.shape, scalars: batch.images.scalars.map { Scalar($0) }), .classes(shape: [batch.count], indices: batch.labels))
            }
        }
        if communicator.isRoot { try AtomicFile.write(SafeTensors.encode(file), to: URL(fileURLWithPath: output)) }
    }
}
