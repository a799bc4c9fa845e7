import Foundation

/// CIFAR-10 and CIFAR-100 in their binary versions (Krizhevsky, 2009), as `[N, 3, 32, 32]` images.
///
/// A CIFAR-10 record is one label byte and 3072 pixel bytes (the red, green and blue 32×32
/// planes); the training set is `data_batch_1.bin` … `data_batch_5.bin`, the test set
/// `test_batch.bin`. A CIFAR-100 record has a coarse and a fine label byte before the pixels
/// (the fine label is used); the files are `train.bin` and `test.bin`. The directory may be the
/// one holding the files or its parent (with `cifar-10-batches-bin` or `cifar-100-binary` inside).
public enum CIFAR {
    public enum Variant: Sendable {
        case cifar10, cifar100

        var classes: Int { self == .cifar10 ? 10 : 100 }
        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        var recordSize: Int { labelBytes + pixelsPerImage }
        var folder: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }

        func expectation(_ split: DataSplit) -> String {
            "the \(self == .cifar10 ? "CIFAR-10" : "CIFAR-100") binary files \(files(split).joined(separator: ", ")) of \(recordSize)-byte records, in the folder or in \(folder)/"
        }

        func files(_ split: DataSplit) -> [String] {
            switch (self, split) {
            case (.cifar10, .train): (1...5).map { "data_batch_\($0).bin" }
            case (.cifar10, .test): ["test_batch.bin"]
            case (.cifar100, .train): ["train.bin"]
            case (.cifar100, .test): ["test.bin"]
            }
        }
    }

    static let pixelsPerImage = 3 * 32 * 32

    /// The HBP paper's CIFAR-10 constants (spec §6.1, torchvision's `Normalize` there).
    public static let cifar10Normalization = ChannelNormalization(
        mean: [0.49139968, 0.48215841, 0.44653091], deviation: [0.24703223, 0.24348513, 0.26158784])
    /// CIFAR-100's training-set channel means and deviations.
    public static let cifar100Normalization = ChannelNormalization(
        mean: [0.5071, 0.4865, 0.4409], deviation: [0.2673, 0.2564, 0.2762])

    /// Loads a split; `limit` keeps the first samples in file order.
    public static func load(
        _ variant: Variant, _ split: DataSplit, from directory: URL, limit: Int? = nil, normalization: ChannelNormalization? = nil
    ) throws -> LabeledImages {
        let base = try folder(of: variant, split: split, in: directory)
        if let missing = variant.files(split).first(where: { !FileManager.default.fileExists(atPath: base.appendingPathComponent($0).path) }) {
            throw DataError.missingFile(path: base.appendingPathComponent(missing).path, expected: variant.expectation(split))
        }
        var pixels: [UInt8] = [], labels: [Int] = []
        for name in variant.files(split) where labels.count < (limit ?? .max) {
            let url = base.appendingPathComponent(name)
            let bytes = try FileBytes.read(from: url)
            let size = variant.recordSize
            guard !bytes.isEmpty, bytes.count % size == 0 else {
                let whole = bytes.count / size
                throw DataError.malformed(
                    path: url.path, offset: whole * size,
                    reason: bytes.isEmpty ? "the file is empty; expected records of \(size) bytes"
                        : "\(bytes.count) bytes is not a whole number of \(size)-byte records: record \(whole) is cut short after \(bytes.count - whole * size) bytes")
            }
            let records = min(bytes.count / size, (limit ?? .max) - labels.count)
            pixels.reserveCapacity(pixels.count + records * pixelsPerImage)
            for record in 0..<records {
                let start = record * size, labelOffset = start + variant.labelBytes - 1
                let label = Int(bytes[labelOffset])
                guard label < variant.classes else {
                    throw DataError.malformed(path: url.path, offset: labelOffset, reason: "label \(label) of record \(record) is not a class 0…\(variant.classes - 1)")
                }
                labels.append(label)
                pixels.append(contentsOf: bytes[(start + variant.labelBytes)..<(start + size)])
            }
        }
        let normalization = normalization ?? (variant == .cifar10 ? cifar10Normalization : cifar100Normalization)
        let scaled = normalization.apply(pixels[...], channels: 3, plane: 32 * 32)
        return LabeledImages(images: try Tensor(shape: [labels.count, 3, 32, 32], scalars: scaled), labels: labels)
    }

    /// The directory with the split's files: `directory` itself or its standard subfolder.
    private static func folder(of variant: Variant, split: DataSplit, in directory: URL) throws -> URL {
        let first = variant.files(split)[0]
        for candidate in [directory, directory.appendingPathComponent(variant.folder)]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent(first).path) {
            return candidate
        }
        throw DataError.missingFile(path: directory.appendingPathComponent(first).path, expected: variant.expectation(split))
    }
}
