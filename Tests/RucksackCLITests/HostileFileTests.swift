import Foundation
import Rucksack
@testable import RucksackCLI
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Inputs that are not regular files, outputs that would destroy inputs, and signals during
/// the write: `rucksack compute` refuses or cleans up, and never hangs.
@Suite("rucksack compute against hostile files")
struct HostileFileTests {
    typealias Scratch = ComputeErrorTests.Scratch

    @Test("a named pipe, a device and a directory as inputs are refused without reading them")
    func specialFiles() throws {
        let scratch = try Scratch()
        let fifo = scratch.path("weights.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases: [(option: String, path: String, expected: String)] = [
            ("--weights", fifo, "it is a named pipe, not a regular file"),
            ("--batch", "/dev/zero", "it is a character device, not a regular file"),
            ("--model", scratch.directory.path, "it is a directory, not a regular file"),
        ]
        for (option, path, expected) in cases {
            let message = try #require(try scratch.run(replacing: option, with: path), "\(option) \(path) must fail")
            #expect(message.contains(expected) && message.contains(path), "\(message)")
        }
    }

    @Test("an input larger than the memory limit is refused before it is read")
    func oversizedInput() throws {
        let scratch = try Scratch()
        let message = try #require(try scratch.run(["--memory-limit", "100"]))
        #expect(message.contains("more than the limit of 100 bytes for this file"), "\(message)")
    }

    @Test("--output that is an input, a directory or ends in '/' is refused and the input kept")
    func outputOverInput() throws {
        let scratch = try Scratch()
        let before = try Data(contentsOf: URL(fileURLWithPath: scratch.path("batch.safetensors")))
        let cases: [(String, String)] = [
            (scratch.path("batch.safetensors"), "is the same file as --batch"),
            (scratch.directory.path + "/./model.json", "is the same file as --model"),
            (scratch.directory.path, "is a directory"),
            (scratch.path("results") + "/", "ends in '/', which names a directory"),
        ]
        for (output, expected) in cases {
            let message = try #require(try scratch.run(replacing: "--output", with: output), "\(output) must be refused")
            #expect(message.contains(expected), "\(message)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("batch.safetensors"))) == before)
    }

    /// The `rucksack` executable that `swift test` builds beside the test bundle.
    static func executable() throws -> String {
        let path = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rucksack").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "rucksack is built beside the tests at \(path)")
        return path
    }

    @Test("SIGTERM and SIGINT during the write leave neither the output nor a temporary file", arguments: [SIGTERM, SIGINT])
    func signalDuringWrite(_ signalNumber: Int32) throws {
        let scratch = try Scratch()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = scratch.arguments([])
        process.environment = ProcessInfo.processInfo.environment.merging(["RUCKSACK_TEST_PAUSE_BEFORE_RENAME": "30"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The temporary file is complete while the command pauses before the rename.
        let deadline = Date().addingTimeInterval(20)
        var temporary: [String] = []
        while temporary.isEmpty, Date() < deadline {
            temporary = try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).filter { $0.contains(".tmp-") }
            if temporary.isEmpty { usleep(10_000) }
        }
        try #require(!temporary.isEmpty, "the temporary file never appeared")
        kill(process.processIdentifier, signalNumber)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signalNumber)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path)
        #expect(!left.contains { $0.contains(".tmp-") }, "\(left)")
        #expect(!left.contains("out.safetensors"))
    }

    @Test("a temporary file left by a killed writer is removed by the next write to the same output")
    func staleTemporaryFile() throws {
        let scratch = try Scratch()
        // No process has this id (above Linux's pid_max of 2^22).
        let stale = scratch.path(".out.safetensors.tmp-99999999-1234")
        let foreign = scratch.path(".other.safetensors.tmp-99999999-1234")
        _ = FileManager.default.createFile(atPath: stale, contents: Data([1, 2, 3]))
        _ = FileManager.default.createFile(atPath: foreign, contents: Data([1, 2, 3]))
        #expect(try scratch.run() == nil)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: foreign), "only temporary files of this output are touched")
    }
}
