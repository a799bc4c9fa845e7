import ArgumentParser
import Foundation
import Rucksack

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the speed of Rucksack's building blocks (build with -c release).",
        subcommands: [BenchGEMM.self, BenchQuantities.self, BenchProblems.self, BenchDataParallel.self]
    )
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of matrix products on each backend, beside a direct call of the same routine, and im2col GB/s.",
        discussion: """
            Shapes are m×k×n products at sizes neural networks use. For a CBLAS library the direct \
            call is its own cblas_sgemm/cblas_dgemm on the same buffers; for the built-in kernels it \
            is the C kernel entry point. Each figure is the median over the repetitions, with the \
            spread (max − min) / median in percent.
            """
    )

    @Option(help: "Timed repetitions per measurement.")
    var repetitions = 11

    @Option(help: "Threads per product (default: RUCKSACK_THREADS or all cores).")
    var threads: Int?

    @Option(help: "Comma-separated m×k×n shapes, e.g. 512x512x512,128x784x512.")
    var shapes = "128x784x512,128x512x256,64x1152x512,512x512x512,1024x1024x1024"

    @Flag(help: "Also measure every instruction set of the built-in kernels, not just the best one.")
    var allInstructionSets = false

    func run() throws {
        announceMatrixBackend()
        let threadCount = threads ?? MatrixBackend.defaultThreadCount
        let parsed = try shapes.split(separator: ",").map { text in
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("shape \(text) is not m×k×n, e.g. 128x784x512")
            }
            return (m: parts[0], k: parts[1], n: parts[2])
        }
        var candidates: [(label: String, backend: MatrixBackend)] = []
        if let blas = MatrixBackend.systemCBLAS(threads: threadCount) {
            candidates.append(("CBLAS", blas))
        }
        let sets = allInstructionSets ? BuiltinInstructionSet.supported.reversed() : [.best]
        for set in sets { candidates.append(("built-in \(set)", .builtin(threads: threadCount, instructionSet: set))) }

        print("threads: \(threadCount), repetitions: \(repetitions)")
        if let path = MatrixBackend.systemCBLAS(threads: threadCount)?.libraryPath { print("CBLAS: \(path)") }
        print(pad("m×k×n", 16) + pad("type", 6) + pad("backend", 20) + pad("matmul GFLOP/s", 22)
              + pad("direct GFLOP/s", 22) + "ratio")
        for shape in parsed {
            for candidate in candidates {
                let single = try GEMMBenchmark<Float>(shape: shape, backend: candidate.backend, repetitions: repetitions).run()
                let double = try GEMMBenchmark<Double>(shape: shape, backend: candidate.backend, repetitions: repetitions).run()
                for (type, result) in [("f32", single), ("f64", double)] {
                    print(pad("\(shape.m)×\(shape.k)×\(shape.n)", 16) + pad(type, 6) + pad(candidate.label, 20)
                          + pad(result.matmul.formatted, 22) + pad(result.direct.formatted, 22)
                          + String(format: "%.2f", result.matmul.median / result.direct.median))
                }
            }
        }
        try UnfoldBenchmark(repetitions: repetitions).report()
    }
}

/// Left-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
