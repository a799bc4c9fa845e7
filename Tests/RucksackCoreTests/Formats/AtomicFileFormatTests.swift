import Foundation
import Testing
@testable import RucksackCore

@Suite("atomic file writes")
struct AtomicFileFormatTests {
    @Test("writes, then replaces, leaving no temporary file")
    func writeAndReplace() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.bin")
        try AtomicFile.write([1, 2, 3], to: url)
        #expect(try FileBytes.read(from: url) == [1, 2, 3])
        try AtomicFile.write([], to: url)
        #expect(try FileBytes.read(from: url) == [])
        try AtomicFile.write([UInt8](repeating: 7, count: 3 << 20), to: url)
        #expect(try FileBytes.read(from: url) == [UInt8](repeating: 7, count: 3 << 20))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.bin"])
    }

    @Test("writing into a missing directory throws and creates nothing")
    func missingDirectory() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("missing/out.npy")
        #expect {
            try NPY.write(ArrayData([UInt8(1)], shape: [1]), to: url)
        } throws: { error in
            guard case let .fileSystem(path, _, reason) = error as? FormatError else { return false }
            return path == url.path && reason.contains("No such file")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("a failed replace keeps the target and removes the temporary file")
    func failedRenameKeepsTarget() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A non-empty directory cannot be replaced by a file, so the final rename fails.
        let target = directory.appendingPathComponent("model.safetensors")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data([42]).write(to: target.appendingPathComponent("keep"))
        #expect(throws: FormatError.self) {
            try SafeTensors.write(SafeTensorsFile(), to: target)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        #expect(try Data(contentsOf: target.appendingPathComponent("keep")) == Data([42]))
    }

    @Test("reading a missing file throws a file-system error naming the path")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent-rucksack-dir/x.npy")
        #expect(throws: FormatError.fileSystem(
            path: url.path, operation: "open", reason: "No such file or directory (errno 2)")) {
            try NPY.read(from: url)
        }
    }
}
