import Foundation
import Testing
@testable import RucksackCore

/// Tensors written to a file and read back, in each tensor file format.
@Suite("file round trips")
struct RoundTripFormatTests {
    enum Format: String, CaseIterable, CustomStringConvertible {
        case npy, safetensors
        var description: String { rawValue }
    }

    @Test("Float and Double tensors round-trip through a file", arguments: Format.allCases, [[2, 3], [], [0, 4], [3, 1, 2]])
    func roundTrip(format: Format, shape: [Int]) throws {
        try roundTrip(Float.self, format, shape: shape)
        try roundTrip(Double.self, format, shape: shape)
    }

    private func roundTrip<Scalar: TensorScalar>(_: Scalar.Type, _ format: Format, shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let tensor = try Tensor<Scalar>(shape: shape, scalars: (0..<count).map { Scalar($0) / 7 - 1 })
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("t.\(format)")
        switch format {
        case .npy:
            try NPY.write(ArrayData(tensor), to: url)
            #expect(try NPY.read(from: url).tensor(as: Scalar.self) == tensor)
        case .safetensors:
            var file = SafeTensorsFile(metadata: ["kind": "\(Scalar.self)"])
            try file.insert(ArrayData(tensor), named: "weight")
            try SafeTensors.write(file, to: url)
            let read = try SafeTensors.read(from: url)
            #expect(read == file)
            #expect(try read["weight"]?.tensor(as: Scalar.self) == tensor)
        }
    }
}
