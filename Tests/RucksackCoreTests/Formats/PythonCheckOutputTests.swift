import Foundation
import Testing
@testable import RucksackCore

/// Writes every fixture's contents with Rucksack into `$RUCKSACK_FORMAT_OUTPUT_DIR`, for
/// `scripts/reference/check_rucksack_outputs.py` to load with NumPy and safetensors:
///
///     RUCKSACK_FORMAT_OUTPUT_DIR=/tmp/rucksack-out swift test --filter PythonCheckOutput
///     scripts/reference/.venv/bin/python scripts/reference/check_rucksack_outputs.py /tmp/rucksack-out/*
///
/// Without the variable the files go to a temporary directory; either way each is read back.
@Suite("format outputs for the Python check")
struct PythonCheckOutputTests {
    @Test("writes Rucksack's version of every fixture, and each reads back unchanged")
    func writeOutputs() throws {
        let requested = ProcessInfo.processInfo.environment["RUCKSACK_FORMAT_OUTPUT_DIR"]
        let directory = requested.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-format-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if requested == nil { try? FileManager.default.removeItem(at: directory) } }
        for spec in FormatFixtures.safetensorsFiles {
            let url = directory.appendingPathComponent(spec.name)
            try SafeTensors.write(FormatFixtures.file(spec), to: url)
            #expect(try SafeTensors.read(from: url) == FormatFixtures.file(spec), "\(spec.name)")
        }
        for fixture in FormatFixtures.npyFiles {
            let url = directory.appendingPathComponent(fixture.name)
            let array = try FormatFixtures.values(fixture.dtype, shape: fixture.shape)
            try NPY.write(array, to: url)
            #expect(try NPY.read(from: url) == array, "\(fixture.name)")
        }
    }
}
