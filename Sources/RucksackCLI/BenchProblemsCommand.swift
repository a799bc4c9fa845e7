import ArgumentParser
import Foundation
import Rucksack

#if canImport(Glibc)
import Glibc
#endif

struct BenchProblems: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "problems",
        abstract: "Time the gradient and each quantity on the five standard problems (build with -c release).",
        discussion: """
            The problems of the BackPACK paper and DeepOBS, float32, cross-entropy with mean \
            reduction, on random data of the right shapes: mnist_logreg (N=128), mnist_mlp (N=128), \
            fmnist_2c2d (N=128), cifar10_3c3d (N=64), cifar100_allcnnc (N=32). Each cell is one \
            forward and backward pass computing the gradient and the quantity (for hmp, ggnmp and \
            pchmp with one product of each parameter block after it; hvp and ggn_vp are one \
            whole-network product; cg_newton_step one CGNewton step on the exact GGN blocks), timed over the \
            repetitions after warm-up steps. Per cell it prints one JSON object per line: the median \
            and spread of the step time, the ratio to the plain gradient's median, the peak resident \
            memory of the process so far, and the minor page faults per timed step (0 means the \
            step reuses memory it already touched). --markdown adds a table. \
            scripts/benchmark/compare.py runs each cell in a fresh process beside PyTorch and BackPACK.
            """
    )

    @Option(help: "Comma-separated problems.")
    var problem = CommaSeparated<BenchmarkProblem>(BenchmarkProblem.allCases)
    @Option(help: "Comma-separated configurations (four: batch_grad, batch_l2, sum_grad_squared and variance together).")
    var quantities = CommaSeparated<BenchmarkConfiguration>([.grad] + [.batchGrad, .batchL2, .sumGradSquared, .variance].map { .quantity($0) } + [.four])
    @Option(help: "Threads for matrix products (default: RUCKSACK_THREADS or all cores).") var threads: Int?
    @Option(help: "Timed steps per cell.") var repetitions = 10
    @Option(help: "Untimed steps before them.") var warmup = 2
    @Flag(help: "Also print a Markdown table.") var markdown = false
    @Option(help: "The most memory one tensor may take, e.g. 16G (default: 3/4 of physical memory).")
    var memoryLimit: ByteCount?

    func validate() throws {
        guard repetitions > 0, warmup >= 0, threads.map({ $0 > 0 }) ?? true else {
            throw ValidationError("--repetitions and --threads must be positive, --warmup not negative")
        }
    }

    struct Cell {
        var problem: BenchmarkProblem
        var configuration: BenchmarkConfiguration
        var median: Double, spread: Double, peakMB: Double, faultsPerStep: Double
    }

    func run() throws {
        // Before the matrix backend is first used, which reads it once.
        if let threads { setenv("RUCKSACK_THREADS", "\(threads)", 1) }
        announceMatrixBackend()
        try MemoryBudget.$limit.withValue(memoryLimit?.bytes ?? MemoryBudget.limit) { try measure() }
    }

    private func measure() throws {
        var cells: [Cell] = []
        for problem in problem.values {
            let model = try problem.model(seed: 0)
            var stream = RandomStream(seed: 1)
            let input: Tensor<Float> = try stream.normal(shape: problem.inputShape)
            let labels = (0..<problem.batchSize).map { _ in Int(stream.next() % UInt64(problem.classes)) }
            let target = LossTarget<Float>.classes(shape: [problem.batchSize], indices: labels)
            let loss = CrossEntropyLoss<Float>()
            let vector = try Dictionary(uniqueKeysWithValues: model.parameterNames.map { name in
                (name, try stream.normal(shape: model.parameter(name).shape) as Tensor<Float>)
            })
            for configuration in quantities.values {
                let step = { try configuration.step(model, input: input, target: target, loss: loss, vector: vector) }
                // Warm-up steps are timed too, so that the timing code's own pages are in before
                // the faults are counted.
                let timed = { let start = ContinuousClock.now; try step(); return (ContinuousClock.now - start).seconds }
                for _ in 0..<warmup { _ = try timed() }
                var seconds: [Double] = []
                seconds.reserveCapacity(repetitions)
                let faultsBefore = Self.usage().ru_minflt
                for _ in 0..<repetitions { seconds.append(try timed()) }
                let usage = Self.usage()
                let sorted = seconds.sorted()
                let median = Benchmark.median(seconds)
                let cell = Cell(problem: problem, configuration: configuration, median: median * 1000,
                                spread: (sorted.last! - sorted.first!) / median, peakMB: Double(usage.ru_maxrss) / 1024,
                                faultsPerStep: Double(usage.ru_minflt - faultsBefore) / Double(repetitions))
                cells.append(cell)
                let gradient = cells.first { $0.problem == problem && $0.configuration == .grad }?.median
                print(String(format: #"{"problem": "%@", "quantity": "%@", "median_ms": %.3f, "spread": %.3f, "ratio_to_grad": %@, "peak_rss_mb": %.1f, "minor_faults_per_step": %.1f}"#,
                             problem.rawValue, configuration.rawValue, cell.median, cell.spread,
                             gradient.map { String(format: "%.3f", cell.median / $0) } ?? "null", cell.peakMB, cell.faultsPerStep))
            }
        }
        if markdown { print(Self.table(cells)) }
    }

    private static func usage() -> rusage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage
    }

    /// Rows per problem, columns per configuration: median ms (spread), page faults per step.
    static func table(_ cells: [Cell]) -> String {
        let configurations = BenchmarkConfiguration.allCases.filter { c in cells.contains { $0.configuration == c } }
        var lines = ["| problem (N) | " + configurations.map(\.rawValue).joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: configurations.count)]
        for problem in BenchmarkProblem.allCases where cells.contains(where: { $0.problem == problem }) {
            let entries = configurations.map { configuration -> String in
                guard let cell = cells.first(where: { $0.problem == problem && $0.configuration == configuration }) else { return "" }
                return String(format: "%.1f ms ±%.0f%%, %.0f faults", cell.median, cell.spread * 100, cell.faultsPerStep)
            }
            lines.append("| \(problem.rawValue) (\(problem.batchSize)) | " + entries.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}
