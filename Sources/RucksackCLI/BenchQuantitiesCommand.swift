import ArgumentParser
import Foundation
import Rucksack

struct BenchQuantities: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantities",
        abstract: "Time one forward and backward pass computing each quantity (build with -c release).",
        discussion: """
            Takes the same model, weights and batch files as `rucksack compute`. For the gradient \
            alone, each quantity with the gradient (by default the first-order ones), and all of them \
            together, prints the median and \
            the spread of the wall time over the repetitions, one JSON object per line; \
            `rucksack bench problems` times the five standard problems, and scripts/benchmark/compare.py \
            runs them beside PyTorch and BackPACK.
            """
    )

    @Option(help: "The model description (JSON).") var model: String
    @Option(help: "The weights (safetensors state_dict).") var weights: String
    @Option(help: "The batch (safetensors with 'input' and 'target').") var batch: String
    @Option(help: "The loss.") var loss: LossKind = .crossEntropy
    @Option(help: "The loss's reduction, as in PyTorch.") var reduction: Reduction = .mean
    @Option(help: "Timed repetitions.") var repetitions = 11
    @Option(help: "Comma-separated quantities, each timed with the gradient; 'all' times them together.")
    var quantities = CommaSeparated<ComputeQuantity>([.batchGrad, .batchL2, .sumGradSquared, .variance, .batchDot])
    @Option(help: "Comma-separated curvature products to time after the quantities: hmp, ggnmp, pchmp, hvp, ggn_vp, cg_newton_step (as in `rucksack bench problems`).")
    var products = CommaSeparated<CurvatureProductBenchmark>([])

    func run() throws {
        announceMatrixBackend()
        var network: Model<Float> = try ModelFile.read(from: URL(fileURLWithPath: model))
        try network.loadState(SafeTensors.read(from: URL(fileURLWithPath: weights)))
        let (input, target) = try ComputeJob<Float>.readBatch(SafeTensors.read(from: URL(fileURLWithPath: batch)))
        let timed = quantities.values.filter { $0 != .grad && $0 != .loss }
        let configurations: [(String, [ComputeQuantity])] =
            [("grad", [.grad])] + timed.map { ($0.rawValue, [.grad, $0]) } + [("all", [.grad] + timed)]
        for (label, quantities) in configurations {
            let job = ComputeJob(model: network, loss: loss.make(reduction: reduction), quantities: quantities)
            // Seconds per pass, summarised as a rate of passes per second, then turned back.
            let rates = try measureRates(repetitions: repetitions, work: 1) { _ = try job.run(input: input, target: target) }
            print("{\"quantity\": \"\(label)\", \"median_ms\": \(1000 / rates.median), \"spread\": \(rates.spread)}")
        }
        var stream = RandomStream(seed: 1)
        let vector = try Dictionary(uniqueKeysWithValues: network.parameterNames.map { name in
            (name, try stream.normal(shape: network.parameter(name).shape) as Tensor<Float>)
        })
        let crossEntropy = CrossEntropyLoss<Float>(reduction: reduction)
        guard products.values.isEmpty || loss == .crossEntropy else {
            throw ValidationError("--products times cross-entropy only, as `rucksack bench problems` does")
        }
        for product in products.values {
            let rates = try measureRates(repetitions: repetitions, work: 1) {
                try product.step(network, input: input, target: target, loss: crossEntropy, vector: vector)
            }
            print("{\"quantity\": \"\(product.rawValue)\", \"median_ms\": \(1000 / rates.median), \"spread\": \(rates.spread)}")
        }
    }
}
