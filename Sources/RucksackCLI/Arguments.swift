import ArgumentParser
import Rucksack

// The library's enumerations as typed options, with their values listed in `--help`.
extension LossKind: ExpressibleByArgument {}
extension Reduction: ExpressibleByArgument {}
extension ComputeQuantity: ExpressibleByArgument {}

/// A comma-separated list of values of an enumeration, e.g. `loss,grad,variance`.
struct CommaSeparated<Element: ExpressibleByArgument & CaseIterable & RawRepresentable<String>>: ExpressibleByArgument {
    var values: [Element]

    init(_ values: [Element]) { self.values = values }

    init?(argument: String) {
        var values: [Element] = []
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Element(argument: String(item)) else { return nil }
            values.append(value)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    var defaultValueDescription: String { values.map(\.rawValue).joined(separator: ",") }
    static var allValueStrings: [String] { Element.allCases.map(\.rawValue) }
}

/// Batch indices, e.g. `3,0,0,2` (any order, duplicates allowed, no empty items).
struct SampleIndices: ExpressibleByArgument {
    var indices: [Int]

    init?(argument: String) {
        var indices: [Int] = []
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let index = Int(item), index >= 0 else { return nil }
            indices.append(index)
        }
        self.indices = indices
    }
}

/// The options that the training examples (`demo`, `dp-sgd`) share.
struct TrainingOptions: ParsableArguments {
    @Option(help: "A directory with MNIST or Fashion-MNIST IDX files (gzipped or not), instead of the shipped subset.")
    var data: String?
    @Option(help: "Epochs.") var epochs = 3
    @Option(help: "Batch size.") var batchSize = 64
    @Option(help: "Seed for initialisation, shuffling and any noise.") var seed: UInt64 = 0

    func validate() throws {
        guard epochs > 0, batchSize > 0 else { throw ValidationError("--epochs and --batch-size must be positive") }
    }
}
