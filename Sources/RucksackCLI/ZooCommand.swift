import ArgumentParser
import Foundation
import Rucksack
import RucksackExperiments

struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a zoo network as a model file, and optionally its initial weights, for `rucksack compute`.",
        discussion: "The model file follows Docs/model-format.md; the weights are a safetensors state dict drawn with the network's initialisation."
    )

    @Argument(help: "The network.") var model: ZooModel
    @Option(name: .customLong("data-set"), help: "The data set whose image shape and classes the network takes.") var dataSet: DataSet = .mnist
    @Option(help: "The model file to write.") var output: String
    @Option(help: "Also write initial weights here.") var weights: String?
    @Option(help: "Seed of the initial weights.") var seed: UInt64 = 0
    @Option(help: "Initialisation (default: the network's own).") var initialization: ZooInitialization?

    func run() throws {
        try checkOutput(output, inputs: [])
        if let weights {
            guard weights != output else { throw ValidationError("--weights and --output name the same file '\(output)'") }
            try checkOutput(weights, inputs: [("--output", output)])
        }
        let text = try model.modelFile(imageShape: dataSet.imageShape, classes: dataSet.classes)
        try AtomicFile.write(Array(text.utf8), to: URL(fileURLWithPath: output))
        if let weights {
            let network = try model.model(imageShape: dataSet.imageShape, classes: dataSet.classes, seed: seed, initialization: initialization)
            try SafeTensors.write(network.state(), to: URL(fileURLWithPath: weights))
        }
    }
}
