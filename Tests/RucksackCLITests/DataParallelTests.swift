import Foundation
import Rucksack
import RucksackExamples
import RucksackTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mpirun` on the PATH (Open MPI); CI installs `openmpi-bin`, so there its absence fails the tests.
private let mpirunPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    .map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
private let mpiTests = mpirunPath != nil || ProcessInfo.processInfo.environment["CI"] == "true"

/// `rucksack accumulate` on 101 of the shipped MNIST digits (not divisible by 2 or 3) with a
/// small sigmoid network, on one process and under `mpirun`.
@Suite("rucksack accumulate and train, on one process and on MPI", .serialized)
struct DataParallelTests {
    static let fields = "loss,grad,sum_grad_squared,variance,diag_ggn_exact,diag_ggn_mc,kfac,kflr,batch_l2"
    static let samples = 101

    /// A folder with the model and weights, and the arguments of an accumulation into `output`.
    struct Job {
        let folder: URL

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-accumulate-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let layers = #"{"layers": [{"type": "Flatten"}, {"type": "Linear", "in_features": 784, "out_features": 12}, {"type": "Sigmoid"}, {"type": "Linear", "in_features": 12, "out_features": 10}]}"#
            try Data(layers.utf8).write(to: folder.appendingPathComponent("model.json"))
            var model: Model<Double> = try ModelFile.decode(Data(layers.utf8))
            try model.initializeParameters(seed: 7)
            try SafeTensors.write(model.state(), to: folder.appendingPathComponent("weights.safetensors"))
        }

        func arguments(output: String, batchSize: Int = 16, extra: [String] = []) -> [String] {
            ["accumulate", "--model", folder.appendingPathComponent("model.json").path, "--weights", folder.appendingPathComponent("weights.safetensors").path,
             "--samples", "\(DataParallelTests.samples)", "--batch-size", "\(batchSize)", "--quantities", DataParallelTests.fields, "--dtype", "float64",
             "--mc-samples", "2", "--seed", "3", "--output", folder.appendingPathComponent(output).path] + extra
        }

        func tensors(_ output: String) throws -> [String: Tensor<Double>] {
            let file = try SafeTensors.read(from: folder.appendingPathComponent(output))
            return try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file[$0]!.tensor(as: Double.self)) })
        }
    }

    /// Runs a command; returns its exit status, standard error and seconds.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, error: String, seconds: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text, Date().timeIntervalSince(start))
    }

    static func mpirun() throws -> String { try #require(mpirunPath, "Open MPI's mpirun is needed here (apt-get install openmpi-bin)") }

    static func mpi(_ processes: Int, _ arguments: [String]) -> [String] {
        ["--allow-run-as-root", "--oversubscribe", "-np", "\(processes)", try! HostileFileTests.executable()] + arguments
    }

    @Test("batches of 16 add up to one batch of the whole data set: what compute gives for it")
    func batchesAddUpToTheWholeDataSet() throws {
        let job = try Job()
        let rucksack = try HostileFileTests.executable()
        #expect(try Self.run(rucksack, job.arguments(output: "accumulated.safetensors")).status == 0)
        // The same samples as one batch file for `compute`.
        let digits = try DataSet.mnist.load(.train, from: DemoSetup.shippedMNISTSubset(), limit: Self.samples)
        var batch = SafeTensorsFile()
        try batch.insert(ArrayData(Tensor<Double>(shape: digits.images.shape, scalars: digits.images.scalars.map(Double.init))), named: "input")
        try batch.insert(ArrayData(digits.labels.map(Int64.init), shape: [digits.count]), named: "target")
        try SafeTensors.write(batch, to: job.folder.appendingPathComponent("batch.safetensors"))
        let deterministic = "loss,grad,sum_grad_squared,variance,diag_ggn_exact,kflr,batch_l2"
        let compute = ["compute", "--model", job.folder.appendingPathComponent("model.json").path, "--weights", job.folder.appendingPathComponent("weights.safetensors").path,
                       "--batch", job.folder.appendingPathComponent("batch.safetensors").path, "--loss", "cross-entropy", "--quantities", deterministic,
                       "--dtype", "float64", "--output", job.folder.appendingPathComponent("whole.safetensors").path]
        #expect(try Self.run(rucksack, compute).status == 0)
        let (accumulated, whole) = (try job.tensors("accumulated.safetensors"), try job.tensors("whole.safetensors"))
        #expect(Set(whole.keys).isSubset(of: Set(accumulated.keys)) && whole.count == 27)  // loss; 5 fields per parameter, KFLR's 2 factors per weight and 1 per bias
        for (name, reference) in whole {
            expectClose(accumulated[name]!.scalars, reference.scalars, Tolerance(relative: 1e-12, absolute: 1e-15), name)
        }
    }

    @Test("mpirun -np 2 and -np 3 write what one process writes", .enabled(if: mpiTests, "mpirun is not installed"), arguments: [2, 3])
    func processesAgreeWithOne(processes: Int) throws {
        let job = try Job()
        #expect(try Self.run(try HostileFileTests.executable(), job.arguments(output: "one.safetensors")).status == 0)
        let result = try Self.run(try Self.mpirun(), Self.mpi(processes, job.arguments(output: "many.safetensors")))
        #expect(result.status == 0, "\(result.error)")
        let (one, many) = (try job.tensors("one.safetensors"), try job.tensors("many.safetensors"))
        #expect(one.keys.sorted() == many.keys.sorted() && one.count == 37)  // loss; 6 fields per parameter, KFAC's and KFLR's 2 factors per weight and 1 per bias
        #expect(many["1.weight.batch_l2"]?.shape == [Self.samples])
        for (name, reference) in one {
            expectClose(many[name]!.scalars, reference.scalars, Tolerance(relative: 1e-12, absolute: 1e-15), name)
        }
    }

    @Test("a killed process ends the job with an error within seconds", .enabled(if: mpiTests, "mpirun is not installed"))
    func killedProcessEndsTheJob() throws {
        let job = try Job()
        let result = try Self.run(try Self.mpirun(), Self.mpi(2, job.arguments(output: "never.safetensors")), environment: ["RUCKSACK_TEST_KILL_RANK": "1"])
        #expect(result.status != 0)
        #expect(result.seconds < 30)
        #expect(!FileManager.default.fileExists(atPath: job.folder.appendingPathComponent("never.safetensors").path))
    }

    @Test("processes started with other options are refused, naming them", .enabled(if: mpiTests, "mpirun is not installed"))
    func mismatchedProcessesAreRefused() throws {
        let job = try Job()
        let rucksack = try HostileFileTests.executable()
        let result = try Self.run(try Self.mpirun(), ["--allow-run-as-root", "--oversubscribe", "-np", "1", rucksack] + job.arguments(output: "x.safetensors")
            + [":", "-np", "1", rucksack] + job.arguments(output: "x.safetensors", batchSize: 8))
        #expect(result.status != 0)
        #expect(result.error.contains("processes 1 have another model, weights or options than process 0"), "\(result.error)")
    }

    /// `rucksack train` on 300 shipped digits, one epoch, five logs; returns the log's rows without the wall-clock column.
    static func train(processes: Int, _ optimizer: [String], folder: URL) throws -> [[Double]] {
        let arguments = ["train", "--model", "mlp", "--batch-size", "100", "--epochs", "1", "--train-size", "300", "--test-size", "100",
                         "--train-evaluation-size", "100", "--logs-per-epoch", "3", "--name", "dp", "--label", "run", "--output", folder.path] + optimizer
        let rucksack = try HostileFileTests.executable()
        let result = processes == 1 ? try run(rucksack, arguments) : try run(try mpirun(), mpi(processes, arguments))
        #expect(result.status == 0, "\(result.error)")
        let text = try String(contentsOf: folder.appendingPathComponent("dp/run/seed0/log.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            line.split(separator: ",").enumerated().filter { $0.offset != 2 }.map { Double($0.element)! }
        }
    }

    /// CGNewton runs its 5 iterations whatever the residual (tolerance 0): a stop decided by rounding would part the runs.
    @Test("data-parallel training on 2 and 3 processes follows one process (SGD, CGNewton on exact GGN blocks)",
          .enabled(if: mpiTests, "mpirun is not installed"),
          arguments: [["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9"],
                      ["--optimizer", "cg-newton", "--curvature", "ggn", "--lr", "0.1", "--alpha", "0.1", "--cg-max-iterations", "5", "--cg-tolerance", "0"]])
    func dataParallelTrainingFollowsOneProcess(optimizer: [String]) throws {
        let folder = try Job().folder
        let one = try Self.train(processes: 1, optimizer, folder: folder.appendingPathComponent("one"))
        #expect(one.count == 3 && one.last![4] < one.first![4])  // the training loss went down
        for processes in [2, 3] {
            let many = try Self.train(processes: processes, optimizer, folder: folder.appendingPathComponent("\(processes)"))
            // Slices' means weighted by their share add up to the batch's: equal up to float32 rounding.
            expectClose(many.flatMap { $0 }.map(Float.init), one.flatMap { $0 }, Tolerance(relative: 1e-4, absolute: 1e-6), "\(processes) processes")
        }
    }

    @Test("the same seed and number of processes give the same run (KFAC, each process drawing its own samples)",
          .enabled(if: mpiTests, "mpirun is not installed"))
    func dataParallelTrainingIsReproducible() throws {
        let folder = try Job().folder
        let kfac = ["--optimizer", "kfac", "--lr", "0.05", "--damping", "0.01"]
        let first = try Self.train(processes: 2, kfac, folder: folder.appendingPathComponent("a"))
        let again = try Self.train(processes: 2, kfac, folder: folder.appendingPathComponent("b"))
        #expect(first == again && first.count == 3)
    }

    /// Three batch files of 5, 2 and 4 samples for MSE, and the same 11 samples as one file.
    static func writeBatches(_ folder: URL) throws -> (batches: URL, whole: URL, model: URL, weights: URL) {
        var stream = RandomStream(seed: 11)
        let batches = folder.appendingPathComponent("batches")
        try FileManager.default.createDirectory(at: batches, withIntermediateDirectories: true)
        var inputs: [Tensor<Double>] = [], targets: [Tensor<Double>] = []
        for (index, size) in [5, 2, 4].enumerated() {
            let (input, target): (Tensor<Double>, Tensor<Double>) = (try stream.normal(shape: [size, 4]), try stream.normal(shape: [size, 3]))
            var file = SafeTensorsFile()
            try file.insert(ArrayData(input), named: "input")
            try file.insert(ArrayData(target), named: "target")
            try SafeTensors.write(file, to: batches.appendingPathComponent("batch-\(index).safetensors"))
            inputs.append(input)
            targets.append(target)
        }
        var whole = SafeTensorsFile()
        try whole.insert(ArrayData(Tensor.concatenated(inputs, axis: 0)), named: "input")
        try whole.insert(ArrayData(Tensor.concatenated(targets, axis: 0)), named: "target")
        try SafeTensors.write(whole, to: folder.appendingPathComponent("whole-batch.safetensors"))
        let layers = #"{"layers": [{"type": "Linear", "in_features": 4, "out_features": 5}, {"type": "Tanh"}, {"type": "Linear", "in_features": 5, "out_features": 3}]}"#
        try Data(layers.utf8).write(to: folder.appendingPathComponent("mse.json"))
        var model: Model<Double> = try ModelFile.decode(Data(layers.utf8))
        try model.initializeParameters(seed: 5)
        try SafeTensors.write(model.state(), to: folder.appendingPathComponent("mse.safetensors"))
        return (batches, folder.appendingPathComponent("whole-batch.safetensors"), folder.appendingPathComponent("mse.json"), folder.appendingPathComponent("mse.safetensors"))
    }

    @Test("a folder of batch files with MSE adds up to the whole batch, on one process and on 2")
    func batchFilesAddUpToTheWholeBatch() throws {
        let job = try Job()
        let files = try Self.writeBatches(job.folder)
        let rucksack = try HostileFileTests.executable()
        let common = ["--model", files.model.path, "--weights", files.weights.path, "--loss", "mse", "--dtype", "float64"]
        let fields = "loss,grad,sum_grad_squared,variance,diag_ggn_exact,kflr,batch_l2"
        let accumulate = ["accumulate", "--batches", files.batches.path, "--quantities", fields] + common
        #expect(try Self.run(rucksack, accumulate + ["--output", job.folder.appendingPathComponent("files.safetensors").path]).status == 0)
        #expect(try Self.run(rucksack, ["compute", "--batch", files.whole.path, "--quantities", fields, "--output", job.folder.appendingPathComponent("whole.safetensors").path] + common).status == 0)
        let (accumulated, whole) = (try job.tensors("files.safetensors"), try job.tensors("whole.safetensors"))
        #expect(accumulated.keys.sorted() == whole.keys.sorted() && whole.count == 27)
        for (name, reference) in whole {
            expectClose(accumulated[name]!.scalars, reference.scalars, Tolerance(relative: 1e-12, absolute: 1e-15), name)
        }
        guard mpiTests else { return }
        let result = try Self.run(try Self.mpirun(), Self.mpi(2, accumulate + ["--output", job.folder.appendingPathComponent("two.safetensors").path]))
        #expect(result.status == 0, "\(result.error)")
        let two = try job.tensors("two.safetensors")
        for (name, reference) in accumulated {
            expectClose(two[name]!.scalars, reference.scalars, Tolerance(relative: 1e-12, absolute: 1e-15), "2 processes: \(name)")
        }
    }

    @Test("a loss that becomes NaN stops the run on every process at the same step, without a hang",
          .enabled(if: mpiTests, "mpirun is not installed"))
    func nonFiniteLossStopsEveryProcess() throws {
        let folder = try Job().folder
        let arguments = ["train", "--model", "mlp", "--batch-size", "100", "--epochs", "1", "--train-size", "300", "--test-size", "100",
                         "--train-evaluation-size", "100", "--name", "nan", "--label", "run", "--output", folder.path, "--optimizer", "sgd", "--lr", "1e30"]
        let result = try Self.run(try Self.mpirun(), Self.mpi(2, arguments))
        #expect(result.status != 0 && result.seconds < 60)
        #expect(result.error.contains("1 run(s) stopped on a non-finite loss"), "\(result.error)")
        let message = try String(contentsOf: folder.appendingPathComponent("nan/run/seed0/failed.txt"), encoding: .utf8)
        #expect(message.hasPrefix("run run: the loss became NaN or infinite at step"))
    }
}
