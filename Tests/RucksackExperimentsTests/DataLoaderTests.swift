import Foundation
@testable import Rucksack
import Testing

/// A fresh temporary folder for files a test writes.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-\(name.filter(\.isLetter))-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// CIFAR records: labels, then pixel `p` of record `r` is `(r * 7 + p) % 256`.
private func cifarRecords(labels: [[UInt8]]) -> [UInt8] {
    labels.enumerated().flatMap { r, label in label + (0..<3072).map { UInt8((r * 7 + $0) % 256) } }
}

@Suite struct CIFARLoaderTests {
    @Test func cifar10ReadsEveryBatchFileNormalisedPerChannel() throws {
        let folder = try temporaryFolder()
        for batch in 1...5 { try Data(cifarRecords(labels: [[UInt8(batch)], [9]])).write(to: folder.appendingPathComponent("data_batch_\(batch).bin")) }
        try Data(cifarRecords(labels: [[3]])).write(to: folder.appendingPathComponent("test_batch.bin"))
        let train = try DataSet.cifar10.load(.train, from: folder)
        #expect(train.images.shape == [10, 3, 32, 32])
        #expect(train.labels == [1, 9, 2, 9, 3, 9, 4, 9, 5, 9])
        let test = try CIFAR.load(.cifar10, .test, from: folder)
        #expect(test.labels == [3])
        // Pixel 1024 is the first green value of record 0: byte 1024 % 256 = 0.
        let norm = CIFAR.cifar10Normalization
        for (index, byte) in [(0, 0), (5, 5), (1024, 0), (2048 + 3, 3)] {
            let channel = index / 1024
            let expected = (Float(byte) / 255 - norm.mean[channel]) / norm.deviation[channel]
            #expect(abs(test.images.scalars[index] - expected) <= 1e-6 * max(1, abs(expected)))
        }
        #expect(try DataSet.cifar10.load(.train, from: folder, limit: 3).labels == [1, 9, 2])
    }

    @Test func cifar100UsesTheFineLabelAndTheStandardSubfolder() throws {
        let folder = try temporaryFolder()
        let inner = folder.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try Data(cifarRecords(labels: [[4, 87], [19, 0]])).write(to: inner.appendingPathComponent("train.bin"))
        try Data(cifarRecords(labels: [[1, 99]])).write(to: inner.appendingPathComponent("test.bin"))
        #expect(try DataSet.cifar100.load(.train, from: folder).labels == [87, 0])
        #expect(try DataSet.cifar100.load(.test, from: folder).labels == [99])
    }

    @Test func truncatedFileNamesTheCutRecordAndItsOffset() throws {
        let folder = try temporaryFolder()
        try Data(cifarRecords(labels: [[1], [2]]).dropLast(10)).write(to: folder.appendingPathComponent("test_batch.bin"))
        #expect(throws: DataError.malformed(
            path: folder.appendingPathComponent("test_batch.bin").path, offset: 3073,
            reason: "6136 bytes is not a whole number of 3073-byte records: record 1 is cut short after 3063 bytes")) {
            try CIFAR.load(.cifar10, .test, from: folder)
        }
    }

    @Test func labelOutOfRangeNamesItsByte() throws {
        let folder = try temporaryFolder()
        try Data(cifarRecords(labels: [[1, 5], [2, 100]])).write(to: folder.appendingPathComponent("test.bin"))
        #expect(throws: DataError.malformed(path: folder.appendingPathComponent("test.bin").path, offset: 3074 + 1, reason: "label 100 of record 1 is not a class 0…99")) {
            try CIFAR.load(.cifar100, .test, from: folder)
        }
    }

    @Test func missingFilesNameThePathAndWhatWasExpected() throws {
        let folder = try temporaryFolder()
        do {
            _ = try DataSet.cifar10.load(.test, from: folder)
            Issue.record("an empty folder was accepted")
        } catch let DataError.missingFile(path, expected) {
            #expect(path == folder.appendingPathComponent("test_batch.bin").path)
            #expect(expected.contains("CIFAR-10 binary files test_batch.bin of 3073-byte records"))
        }
        for batch in [1, 2, 4, 5] { try Data(cifarRecords(labels: [[0]])).write(to: folder.appendingPathComponent("data_batch_\(batch).bin")) }
        #expect(throws: DataError.missingFile(path: folder.appendingPathComponent("data_batch_3.bin").path, expected: CIFAR.Variant.cifar10.expectation(.train))) {
            try DataSet.cifar10.load(.train, from: folder)
        }
    }
}

/// An IDX file: the magic bytes, the extents, the payload.
private func idx(_ shape: [Int], _ payload: [UInt8]) -> [UInt8] {
    [0, 0, 8, UInt8(shape.count)] + shape.flatMap { extent in (0..<4).reversed().map { UInt8((extent >> (8 * $0)) & 0xFF) } } + payload
}

@Suite struct MNISTLoaderTests {
    private func write(_ folder: URL, prefix: String = "t10k", images: [UInt8], labels: [UInt8], count: Int) throws {
        try Data(idx([count, 2, 2], images)).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try Data(idx([labels.count], labels)).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }

    @Test func fashionMNISTUsesItsOwnStatistics() throws {
        let folder = try temporaryFolder()
        try write(folder, images: [0, 255, 51, 102, 0, 0, 0, 0], labels: [7, 2], count: 2)
        let data = try DataSet.fashionMNIST.load(.test, from: folder)
        #expect(data.images.shape == [2, 1, 2, 2])
        #expect(data.labels == [7, 2])
        #expect(abs(data.images.scalars[1] - (1 - 0.2860) / 0.3530) <= 1e-6)
        #expect(abs(try DataSet.mnist.load(.test, from: folder).images.scalars[1] - (1 - 0.1307) / 0.3081) <= 1e-6)
    }

    @Test func labelOutOfRangeNamesItsByte() throws {
        let folder = try temporaryFolder()
        try write(folder, images: [UInt8](repeating: 0, count: 8), labels: [1, 12], count: 2)
        #expect(throws: DataError.malformed(path: folder.appendingPathComponent("t10k-labels-idx1-ubyte").path, offset: 9, reason: "label 12 of sample 1 is not a class 0…9")) {
            try DataSet.mnist.load(.test, from: folder)
        }
    }

    @Test func truncatedAndCorruptedFilesAreRefused() throws {
        let folder = try temporaryFolder()
        try write(folder, images: [UInt8](repeating: 0, count: 5), labels: [1, 2], count: 2)
        #expect(throws: FormatError.self) { try DataSet.mnist.load(.test, from: folder) }
        // A damaged magic number: the reader names what it found.
        var damaged = idx([2, 2, 2], [UInt8](repeating: 0, count: 8))
        damaged[0] = 0x1F
        try Data(damaged).write(to: folder.appendingPathComponent("t10k-images-idx3-ubyte"))
        #expect(throws: FormatError.inFile(path: folder.appendingPathComponent("t10k-images-idx3-ubyte").path, error: .badMagic(format: .idx, found: Array(damaged.prefix(8))))) {
            try DataSet.mnist.load(.test, from: folder)
        }
    }

    @Test func missingFileNamesThePathAndWhatWasExpected() throws {
        let folder = try temporaryFolder()
        #expect(throws: DataError.missingFile(path: folder.appendingPathComponent("train-images-idx3-ubyte").path + "[.gz]",
                                              expected: "the images in IDX format (gzipped or not)")) {
            try DataSet.fashionMNIST.load(.train, from: folder)
        }
    }
}
