import Foundation

/// Images with class labels: `images` is `[N, 1, H, W]`, standardised.
public struct LabeledImages: Sendable {
    public var images: Tensor<Float>
    public var labels: [Int]

    public var count: Int { labels.count }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) throws -> LabeledImages {
        LabeledImages(images: try images.indexSelected(axis: 0, indices: indices), labels: indices.map { labels[$0] })
    }
}

/// MNIST and Fashion-MNIST in their original IDX files (gzipped or not).
public enum MNIST {
    public enum Split: String, Sendable {
        case train, test
        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// Loads a split from `directory`, which holds `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`.
    /// Pixels are scaled to `[0, 1]` and standardised with MNIST's mean 0.1307 and deviation 0.3081.
    public static func load(_ split: Split, from directory: URL, limit: Int? = nil) throws -> LabeledImages {
        let images = try IDX.read(from: file(directory, "\(split.prefix)-images-idx3-ubyte"))
        let labels = try IDX.read(from: file(directory, "\(split.prefix)-labels-idx1-ubyte"))
        guard images.shape.count == 3, labels.shape.count == 1, images.shape[0] == labels.shape[0] else {
            throw DataError.inconsistent(reason: "images \(images.shape) and labels \(labels.shape) do not match")
        }
        let count = min(limit ?? images.shape[0], images.shape[0])
        let (height, width) = (images.shape[1], images.shape[2])
        let pixels = try images.uint8Values().prefix(count * height * width)
        let scaled = pixels.map { (Float($0) / 255 - 0.1307) / 0.3081 }
        let classes = try labels.uint8Values().prefix(count).map(Int.init)
        return LabeledImages(images: try Tensor(shape: [count, 1, height, width], scalars: scaled), labels: classes)
    }

    /// `name` or `name.gz`, whichever exists.
    private static func file(_ directory: URL, _ name: String) throws -> URL {
        for candidate in [name, name + ".gz"] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw DataError.missingFile(path: directory.appendingPathComponent(name).path + "[.gz]")
    }
}

/// Problems with a data set on disk.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingFile(path: String)
    case inconsistent(reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path): "data set file not found: \(path)"
        case let .inconsistent(reason): "data set: \(reason)"
        }
    }
}
