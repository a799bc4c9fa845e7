import Foundation

/// The image classification data sets Rucksack reads, by their command-line names.
public enum DataSet: String, Sendable, CaseIterable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10
    case cifar100

    /// One image's shape `[C, H, W]`.
    public var imageShape: [Int] {
        switch self {
        case .mnist, .fashionMNIST: [1, 28, 28]
        case .cifar10, .cifar100: [3, 32, 32]
        }
    }

    public var classes: Int { self == .cifar100 ? 100 : 10 }

    /// Loads a split from `directory` (see ``MNIST`` and ``CIFAR`` for the files), standardised
    /// with the data set's own channel statistics; `limit` keeps the first samples.
    public func load(_ split: DataSplit, from directory: URL, limit: Int? = nil) throws -> LabeledImages {
        switch self {
        case .mnist: try MNIST.load(split, from: directory, limit: limit, normalization: MNIST.mnistNormalization)
        case .fashionMNIST: try MNIST.load(split, from: directory, limit: limit, normalization: MNIST.fashionNormalization)
        case .cifar10: try CIFAR.load(.cifar10, split, from: directory, limit: limit)
        case .cifar100: try CIFAR.load(.cifar100, split, from: directory, limit: limit)
        }
    }
}
