import ArgumentParser
import Rucksack

@main
struct RucksackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rucksack",
        abstract: "Packs more into backpropagation: gradients, per-sample quantities and curvature.",
        subcommands: [Demo.self, Compute.self, Accumulate.self, Train.self, Plot.self, Zoo.self, DPSGD.self, Bench.self]
    )
}
