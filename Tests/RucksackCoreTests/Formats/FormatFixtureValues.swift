import Foundation
import Testing
@testable import RucksackCore

/// The fixture files of `Fixtures/formats` and the values they hold.
///
/// Mirrors `scripts/reference/format_fixture_values.py`, which generated them: every array is
/// filled from its flat row-major index `i` by one formula per dtype, so the expectations
/// here are computed independently of any file.
enum FormatFixtures {
    /// A `.npy` fixture and how NumPy wrote it.
    struct NPYFile: Sendable, CustomTestStringConvertible {
        enum Variant: Sendable { case cOrder, fortran, bigEndian, version2, version3 }
        var name: String
        var dtype: DType
        var shape: [Int]
        var variant: Variant
        var testDescription: String { name }
    }

    /// A safetensors fixture: its tensors (name, dtype, shape) and metadata.
    struct SafeTensorsSpec: Sendable, CustomTestStringConvertible {
        var name: String
        var tensors: [(name: String, dtype: DType, shape: [Int])]
        var metadata: [String: String]
        /// Whether the reference writer's output is reproducible byte for byte (at most one
        /// metadata key: it orders several keys randomly).
        var byteExact: Bool { metadata.count <= 1 }
        var testDescription: String { name }
    }

    static let safetensorsFiles: [SafeTensorsSpec] = [
        SafeTensorsSpec(
            name: "all_dtypes.safetensors",
            tensors: [
                ("weight_f32", .float32, [2, 3]), ("weight_f64", .float64, [3, 2]), ("index_i64", .int64, [4]),
                ("index_i32", .int32, [2, 2]), ("pixels_u8", .uint8, [5]), ("mask_bool", .bool, [2, 3]),
                ("scalar_f32", .float32, []), ("scalar_i64", .int64, []), ("empty_f64", .float64, [0, 3]),
                ("empty_u8", .uint8, [2, 0]),
            ],
            metadata: ["source": "make_format_fixtures.py"]),
        SafeTensorsSpec(
            name: "metadata.safetensors", tensors: [("x", .float64, [2, 2])],
            metadata: ["framework": "rucksack", "note": "two keys", "empty": ""]),
        SafeTensorsSpec(
            name: "no_metadata.safetensors", tensors: [("b", .float32, [3]), ("a", .float32, [1, 1, 2])],
            metadata: [:]),
    ]

    static let npyFiles: [NPYFile] = [
        NPYFile(name: "f32_2x3.npy", dtype: .float32, shape: [2, 3], variant: .cOrder),
        NPYFile(name: "f64_3x2.npy", dtype: .float64, shape: [3, 2], variant: .cOrder),
        NPYFile(name: "i64_4.npy", dtype: .int64, shape: [4], variant: .cOrder),
        NPYFile(name: "i32_2x2.npy", dtype: .int32, shape: [2, 2], variant: .cOrder),
        NPYFile(name: "u8_5.npy", dtype: .uint8, shape: [5], variant: .cOrder),
        NPYFile(name: "bool_2x3.npy", dtype: .bool, shape: [2, 3], variant: .cOrder),
        NPYFile(name: "f32_scalar.npy", dtype: .float32, shape: [], variant: .cOrder),
        NPYFile(name: "f64_empty_0x3.npy", dtype: .float64, shape: [0, 3], variant: .cOrder),
        NPYFile(name: "f64_fortran_3x4.npy", dtype: .float64, shape: [3, 4], variant: .fortran),
        NPYFile(name: "i32_fortran_2x3x2.npy", dtype: .int32, shape: [2, 3, 2], variant: .fortran),
        NPYFile(name: "f64_bigendian_2x3.npy", dtype: .float64, shape: [2, 3], variant: .bigEndian),
        NPYFile(name: "i32_bigendian_5.npy", dtype: .int32, shape: [5], variant: .bigEndian),
        NPYFile(name: "f32_v2_3.npy", dtype: .float32, shape: [3], variant: .version2),
        NPYFile(name: "f32_v3_3.npy", dtype: .float32, shape: [3], variant: .version3),
    ]

    /// Every fixture file name.
    static var allNames: [String] { safetensorsFiles.map(\.name) + npyFiles.map(\.name) }

    /// The URL of a fixture in the test bundle.
    static func url(_ name: String) throws -> URL {
        try #require(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/formats"),
            "fixture \(name) is missing; run scripts/reference/make_format_fixtures.py")
    }

    /// The bytes of a fixture.
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name)))
    }

    /// The array a fixture holds for `dtype` and `shape`, computed from the formulas.
    static func values(_ dtype: DType, shape: [Int]) throws -> ArrayData {
        let count = shape.reduce(1, *)
        let i = Array(0..<count)
        switch dtype {
        case .float32:
            return ArrayData(try Tensor(shape: shape, scalars: i.map { Float($0 - 2) / Float(3) }))
        case .float64:
            return ArrayData(try Tensor(shape: shape, scalars: i.map { Double($0 - 2) / 3 }))
        case .int64:
            return try ArrayData(i.map { Int64($0 - 2) * 3_000_000_019 }, shape: shape)
        case .int32:
            return try ArrayData(i.map { Int32($0 - 2) * 100_003 }, shape: shape)
        case .uint8:
            return try ArrayData(i.map { UInt8(($0 * 37 + 11) % 256) }, shape: shape)
        case .bool:
            return try ArrayData(i.map { $0 % 3 == 0 }, shape: shape)
        }
    }

    /// The expected contents of a safetensors fixture.
    static func file(_ spec: SafeTensorsSpec) throws -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: spec.metadata)
        for tensor in spec.tensors {
            try file.insert(values(tensor.dtype, shape: tensor.shape), named: tensor.name)
        }
        return file
    }
}

/// A fresh empty directory under the system's temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("rucksack-format-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
