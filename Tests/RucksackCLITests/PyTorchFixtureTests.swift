import Foundation
import Rucksack
@testable import RucksackCLI
import RucksackTestSupport
import Testing

/// Problems exported from PyTorch by `scripts/reference/make_model_fixtures.py`: a model file,
/// weights, a batch, the loss to use and PyTorch's loss and gradients in float32 and float64.
struct PyTorchProblem: CustomStringConvertible, Sendable {
    var directory: URL
    var description: String { directory.lastPathComponent }

    static let all: [PyTorchProblem] = {
        guard let root = Bundle.module.url(forResource: "models", withExtension: nil, subdirectory: "Fixtures"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.sorted().map { PyTorchProblem(directory: root.appendingPathComponent($0)) }
    }()

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `loss` and `reduction` from `problem.json`.
    func settings() throws -> (loss: String, reduction: String) {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file("problem.json"))))
        let values = try #require(object as? [String: String])
        return (try #require(values["loss"]), try #require(values["reduction"]))
    }
}

@Suite("rucksack compute on models exported from PyTorch")
struct PyTorchFixtureTests {
    /// Every layer type of `Docs/model-format.md`.
    static let documentedTypes: Set<String> = Set(
        ["Linear", "Flatten", "Identity", "Dropout", "ZeroPad2d", "Sequential", "Parallel",
         "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "LogSigmoid", "ELU", "SELU", "Softplus", "GELU", "SiLU"]
            + ["Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "ConstantPad", "BatchNorm"]
                .flatMap { family in (1...3).map { "\(family)\($0)d" } })

    @Test("the fixtures cover every documented layer type and every loss and reduction")
    func coverage() throws {
        var types: Set<String> = []
        var losses: Set<String> = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let type = object["type"] as? String { types.insert(type) }
                object.values.forEach(collect)
            } else if let list = value as? [Any] {
                list.forEach(collect)
            }
        }
        for problem in PyTorchProblem.all {
            collect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: problem.file("model.json")))))
            let (loss, reduction) = try problem.settings()
            losses.insert("\(loss) \(reduction)")
        }
        #expect(Self.documentedTypes.subtracting(types).isEmpty, "not covered: \(Self.documentedTypes.subtracting(types).sorted())")
        let allLosses = Set(LossKind.allCases.flatMap { kind in Reduction.allCases.map { "\(kind.rawValue) \($0.rawValue)" } })
        #expect(allLosses.subtracting(losses).isEmpty, "not covered: \(allLosses.subtracting(losses).sorted())")
    }

    @Test("loss and gradients match PyTorch", arguments: PyTorchProblem.all, ["float32", "float64"])
    func matchesPyTorch(_ problem: PyTorchProblem, dtype: String) throws {
        let (loss, reduction) = try problem.settings()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: output) }
        var command = try RucksackCommand.parseAsRoot([
            "compute", "--model", problem.file("model.json"), "--weights", problem.file("weights.safetensors"),
            "--batch", problem.file("batch.safetensors"), "--loss", loss, "--reduction", reduction,
            "--quantities", "loss,grad", "--dtype", dtype, "--output", output.path,
        ])
        try command.run()
        let results = try SafeTensors.read(from: output)
        let expected = try SafeTensors.read(from: URL(fileURLWithPath: problem.file(dtype == "float32" ? "expected.safetensors" : "expected_float64.safetensors")))
        #expect(Set(results.names) == Set(expected.names))
        let tolerance = dtype == "float32" ? 1e-5 : 1e-10
        for name in expected.names {
            let reference: Tensor<Double> = try #require(expected[name]).tensor()
            let actual = try #require(results[name], "\(name) missing")
            #expect(actual.dtype == (dtype == "float32" ? .float32 : .float64), "\(name)")
            #expect(actual.shape == reference.shape, "\(name)")
            let values: Tensor<Double> = try actual.tensor()
            #expect(relativeError(values.scalars, reference.scalars) <= tolerance, "\(name)")
        }
    }
}
