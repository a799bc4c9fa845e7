import Foundation

/// Images with class labels: `images` is `[N, C, H, W]`, standardised per channel.
public struct LabeledImages: Sendable {
    public var images: Tensor<Float>
    public var labels: [Int]

    public init(images: Tensor<Float>, labels: [Int]) {
        self.images = images
        self.labels = labels
    }

    public var count: Int { labels.count }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) throws -> LabeledImages {
        LabeledImages(images: try images.indexSelected(axis: 0, indices: indices), labels: indices.map { labels[$0] })
    }

    /// The first `count` samples (all of them when there are fewer).
    public func prefix(_ count: Int) throws -> LabeledImages {
        count >= self.count ? self : try subset(Array(0..<max(count, 0)))
    }
}

/// Which part of a data set.
public enum DataSplit: String, Sendable, CaseIterable {
    case train, test
}

/// Per-channel standardisation `(pixel / 255 − mean) / deviation`.
public struct ChannelNormalization: Sendable, Equatable {
    public var mean: [Float]
    public var deviation: [Float]

    public init(mean: [Float], deviation: [Float]) {
        self.mean = mean
        self.deviation = deviation
    }

    /// Scales `pixels` (`[N, C, H·W]` bytes, channel-major per image) to standardised floats.
    func apply(_ pixels: ArraySlice<UInt8>, channels: Int, plane: Int) -> [Float] {
        var scaled = [Float](repeating: 0, count: pixels.count)
        let start = pixels.startIndex
        for index in 0..<pixels.count {
            let channel = (index / plane) % channels
            scaled[index] = (Float(pixels[start + index]) / 255 - mean[channel]) / deviation[channel]
        }
        return scaled
    }
}

/// MNIST and Fashion-MNIST in their original IDX files (gzipped or not).
public enum MNIST {
    public typealias Split = DataSplit

    /// MNIST's pixel mean 0.1307 and deviation 0.3081 (the constants of the PyTorch examples).
    public static let mnistNormalization = ChannelNormalization(mean: [0.1307], deviation: [0.3081])
    /// Fashion-MNIST's training-set pixel mean 0.2860 and deviation 0.3530.
    public static let fashionNormalization = ChannelNormalization(mean: [0.2860], deviation: [0.3530])

    /// Loads a split from `directory`, which holds `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`,
    /// as `[N, 1, 28, 28]` images. Pixels are scaled to `[0, 1]` and standardised.
    public static func load(
        _ split: Split, from directory: URL, limit: Int? = nil, normalization: ChannelNormalization = mnistNormalization
    ) throws -> LabeledImages {
        let prefix = split == .train ? "train" : "t10k"
        let imageFile = try file(directory, "\(prefix)-images-idx3-ubyte"), labelFile = try file(directory, "\(prefix)-labels-idx1-ubyte")
        let images = try IDX.read(from: imageFile), labels = try IDX.read(from: labelFile)
        guard images.shape.count == 3, labels.shape.count == 1, images.shape[0] == labels.shape[0] else {
            throw DataError.inconsistent(reason: "images \(images.shape) in \(imageFile.path) and labels \(labels.shape) in \(labelFile.path) do not match")
        }
        let count = min(limit ?? images.shape[0], images.shape[0])
        let (height, width) = (images.shape[1], images.shape[2])
        let pixels = try images.uint8Values().prefix(count * height * width)
        let classes = try labels.uint8Values().prefix(count).map(Int.init)
        if let bad = classes.firstIndex(where: { $0 > 9 }) {
            // The label payload starts after the 8-byte header of a one-dimensional IDX file.
            throw DataError.malformed(path: labelFile.path, offset: 8 + bad, reason: "label \(classes[bad]) of sample \(bad) is not a class 0…9")
        }
        let scaled = normalization.apply(pixels, channels: 1, plane: height * width)
        return LabeledImages(images: try Tensor(shape: [count, 1, height, width], scalars: scaled), labels: classes)
    }

    /// `name` or `name.gz`, whichever exists.
    private static func file(_ directory: URL, _ name: String) throws -> URL {
        for candidate in [name, name + ".gz"] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        let what = name.contains("labels") ? "the labels in IDX format (gzipped or not)" : "the images in IDX format (gzipped or not)"
        throw DataError.missingFile(path: directory.appendingPathComponent(name).path + "[.gz]", expected: what)
    }
}

/// Problems with a data set on disk.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `expected` says what the file should hold.
    case missingFile(path: String, expected: String)
    case inconsistent(reason: String)
    /// A file whose content breaks its format at `offset` bytes.
    case malformed(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path, expected): "data set file not found: \(path) (expected \(expected))"
        case let .inconsistent(reason): "data set: \(reason)"
        case let .malformed(path, offset, reason): "data set file \(path), byte offset \(offset): \(reason)"
        }
    }
}
