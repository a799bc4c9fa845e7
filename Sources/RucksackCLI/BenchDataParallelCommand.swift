import ArgumentParser
import Foundation
import Rucksack

struct BenchDataParallel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel",
        abstract: "Time data-parallel gradient steps and MPI allreduces; run under mpirun -np K (release build).",
        discussion: """
            Weak scaling: every process computes the gradient of its own batch of the problem's size \
            (random data seeded by its rank), then one allreduce sums the gradients in float32. Process 0 \
            prints one JSON line per problem with the medians of the step, the backward pass and the \
            allreduce, the message size and the bytes a ring allreduce sends per process, 2(K−1)/K × \
            message. With --allreduce-sweep it also times allreduces of 8 bytes to 64 MiB, for a \
            latency–bandwidth fit (Docs/scaling.md).
            """
    )

    @Option(help: "Comma-separated problems.")
    var problems = CommaSeparated<BenchmarkProblem>([.mnistLogreg, .mnistMLP, .fmnist2c2d, .cifar10_3c3d])
    @Option(help: "Timed steps per problem.") var repetitions = 10
    @Option(help: "Untimed steps first.") var warmup = 2
    @Flag(help: "Also time allreduces of 8 B … 64 MiB.") var allreduceSweep = false

    func run() throws {
        let communicator = try Communicators.current()
        do {
            try measure(communicator)
            try communicator.finalize()
        } catch {
            guard communicator.size > 1 else { throw error }
            communicator.abort("rucksack bench data-parallel: \(error)")
        }
    }

    private func measure(_ communicator: any Communicator) throws {
        if communicator.isRoot { announceMatrixBackend() }
        let processes = communicator.size
        for problem in problems.values {
            let model = try problem.model(seed: 0)
            var stream = RandomStream(seed: UInt64(1 + communicator.rank))
            let input: Tensor<Float> = try stream.normal(shape: problem.inputShape)
            let labels = (0..<problem.batchSize).map { _ in Int(stream.next() % UInt64(problem.classes)) }
            let target = LossTarget<Float>.classes(shape: [problem.batchSize], indices: labels)
            var steps: [Double] = [], backward: [Double] = [], reduce: [Double] = []
            var message = 0
            for index in 0..<(warmup + repetitions) {
                _ = try communicator.sum(0)  // lines the processes up before the step
                let start = ContinuousClock.now
                let gradients = try model.gradient(input, target, loss: CrossEntropyLoss()).gradients
                let computed = ContinuousClock.now
                var buffer = model.parameterNames.flatMap { gradients[$0]!.scalars }
                try communicator.allreduceSum(&buffer)
                let end = ContinuousClock.now
                message = buffer.count * MemoryLayout<Float>.size
                guard index >= warmup else { continue }
                steps.append(milliseconds(end - start))
                backward.append(milliseconds(computed - start))
                reduce.append(milliseconds(end - computed))
            }
            let ring = 2 * Double(processes - 1) / Double(processes) * Double(message)
            if communicator.isRoot {
                print(String(format: #"{"problem": "%@", "processes": %d, "samples_per_process": %d, "step_ms": %.3f, "backward_ms": %.3f, "allreduce_ms": %.3f, "message_bytes": %d, "ring_bytes_per_process": %.0f}"#,
                             problem.rawValue, processes, problem.batchSize, Benchmark.median(steps), Benchmark.median(backward), Benchmark.median(reduce), message, ring))
            }
        }
        guard allreduceSweep else { return }
        for power in stride(from: 3, through: 26, by: 1) {
            var buffer = [Float](repeating: 1, count: max((1 << power) / 4, 1))
            var times: [Double] = []
            for index in 0..<(repetitions + warmup) {
                _ = try communicator.sum(0)
                let start = ContinuousClock.now
                try communicator.allreduceSum(&buffer)
                if index >= warmup { times.append(milliseconds(ContinuousClock.now - start)) }
            }
            if communicator.isRoot {
                print(String(format: #"{"allreduce_bytes": %d, "processes": %d, "median_ms": %.5f}"#, buffer.count * 4, processes, Benchmark.median(times)))
            }
        }
    }

    private func milliseconds(_ duration: Duration) -> Double { duration.seconds * 1000 }
}
