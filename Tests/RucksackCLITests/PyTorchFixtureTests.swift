import Foundation
import Rucksack
@testable import RucksackCLI
import RucksackTestSupport
import Testing

/// A problem exported from PyTorch by a script in `scripts/reference/`: a model file, weights, a
/// batch, `problem.json` (loss, reduction, and for BackPACK problems the sub-sampling and the
/// keys where BackPACK 1.7.1 is wrong) and the expected outputs in float32 and float64.
struct FixtureProblem: CustomStringConvertible, Sendable {
    var directory: URL
    var description: String { directory.lastPathComponent }

    static func all(in collection: String) -> [FixtureProblem] {
        guard let root = Bundle.module.url(forResource: collection, withExtension: nil, subdirectory: "Fixtures"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.sorted().map { FixtureProblem(directory: root.appendingPathComponent($0)) }
    }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    var settings: [String: Any] {
        get throws {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file("problem.json"))))
            return try #require(object as? [String: Any])
        }
    }

    /// Runs `rucksack compute` on the problem and returns what it wrote. With sub-sampling, the
    /// quantities that take it run with it and the others (whole batch) in a second run.
    func compute(quantities: String, dtype: String) throws -> SafeTensorsFile {
        guard let subsampling = try settings["subsampling"] as? [Int] else { return try compute(quantities: quantities, dtype: dtype, extra: []) }
        let names = quantities.split(separator: ",").map(String.init)
        let sampled = names.filter { ComputeQuantity(rawValue: $0).map(ComputeQuantity.subsampled.contains) ?? false }
        var results = try compute(quantities: names.filter { !sampled.contains($0) }.joined(separator: ","), dtype: dtype, extra: [])
        guard !sampled.isEmpty else { return results }
        let extra = ["--subsampling", subsampling.map(String.init).joined(separator: ",")]
        let subsampled = try compute(quantities: sampled.joined(separator: ","), dtype: dtype, extra: extra)
        for name in subsampled.names { try results.insert(#require(subsampled[name]), named: name) }
        return results
    }

    func compute(quantities: String, dtype: String, extra: [String]) throws -> SafeTensorsFile {
        let settings = try settings
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: output) }
        let arguments = [
            "compute", "--model", file("model.json"), "--weights", file("weights.safetensors"), "--batch", file("batch.safetensors"),
            "--loss", try #require(settings["loss"] as? String), "--reduction", try #require(settings["reduction"] as? String),
            "--quantities", quantities, "--dtype", dtype, "--output", output.path,
        ] + extra
        var command = try RucksackCommand.parseAsRoot(arguments)
        try command.run()
        return try SafeTensors.read(from: output)
    }

    /// Against references computed by PyTorch in the same precision: the largest float32
    /// difference measured was 1.8e-6 of a tensor's largest magnitude, float64 below 1e-14.
    /// The absolute parts only admit rounding where a reference is zero throughout.
    static func tolerance(_ dtype: String) -> Tolerance {
        dtype == "float32" ? Tolerance(relative: 1e-5, absolute: 1e-12) : Tolerance(relative: 1e-12, absolute: 1e-15)
    }

    /// Compares every expected entry with the results: same names, dtype, shape and values.
    func expectMatch(_ results: SafeTensorsFile, dtype: String, tolerance: Tolerance) throws {
        let expected = try SafeTensors.read(from: URL(fileURLWithPath: file(dtype == "float32" ? "expected.safetensors" : "expected_float64.safetensors")))
        #expect(Set(results.names) == Set(expected.names), "\(self)")
        for name in expected.names {
            let reference: Tensor<Double> = try #require(expected[name]).tensor()
            let actual = try #require(results[name], "\(name) missing")
            #expect(actual.dtype == (dtype == "float32" ? .float32 : .float64), "\(name)")
            #expect(actual.shape == reference.shape, "\(name)")
            let values: Tensor<Double> = try actual.tensor()
            expectClose(values.scalars, reference.scalars, tolerance, "\(self) \(name) \(dtype)")
        }
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
        for problem in FixtureProblem.all(in: "models") {
            collect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: problem.file("model.json")))))
            losses.insert("\(try #require(problem.settings["loss"] as? String)) \(try #require(problem.settings["reduction"] as? String))")
        }
        #expect(Self.documentedTypes.subtracting(types).isEmpty, "not covered: \(Self.documentedTypes.subtracting(types).sorted())")
        let allLosses = Set(LossKind.allCases.flatMap { kind in Reduction.allCases.map { "\(kind.rawValue) \($0.rawValue)" } })
        #expect(allLosses.subtracting(losses).isEmpty, "not covered: \(allLosses.subtracting(losses).sorted())")
    }

    @Test("loss and gradients match PyTorch", arguments: FixtureProblem.all(in: "models"), ["float32", "float64"])
    func matchesPyTorch(_ problem: FixtureProblem, dtype: String) throws {
        let results = try problem.compute(quantities: "loss,grad", dtype: dtype)
        try problem.expectMatch(results, dtype: dtype, tolerance: FixtureProblem.tolerance(dtype))
    }
}

/// First-order quantities against BackPACK 1.7.1 (`scripts/reference/make_backpack_fixtures.py`).
/// Where BackPACK is wrong the fixtures hold the per-sample autograd truth, and the test also
/// shows that BackPACK's own value differs from Rucksack's.
@Suite("rucksack compute against BackPACK")
struct BackPACKFixtureTests {
    static let quantities = "loss,grad,batch_grad,batch_l2,sum_grad_squared,variance,batch_dot"

    @Test("at least the MLP, CNN, residual and sub-sampling problems are there")
    func present() {
        #expect(Set(FixtureProblem.all(in: "curvature").map(\.description)) == ["cnn_sigmoid_maxpool", "cnn_sigmoid_maxpool_sum", "mlp_tanh_mse"])
        let names = Set(FixtureProblem.all(in: "backpack").map(\.description))
        #expect(names.isSuperset(of: ["mlp", "mlp_sum_subsampled", "cnn1d", "cnn2d", "resnet", "grouped_convs"]))
    }

    @Test("second-order quantities match BackPACK wherever BackPACK computes them", arguments: FixtureProblem.all(in: "backpack"), ["float32", "float64"])
    func secondOrderMatchesBackPACK(_ problem: FixtureProblem, dtype: String) throws {
        let description = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: problem.file("second_order.json"))))
        let computed = try #require((description as? [String: Any])?["computed"] as? [String: [String]])
        let quantities = try #require(computed[dtype])
        guard !quantities.isEmpty else { return }  // BackPACK refuses all of them here (second_order.json says why)
        let results = try problem.compute(quantities: quantities.joined(separator: ","), dtype: dtype)
        let expected = try SafeTensors.read(from: URL(fileURLWithPath: problem.file(dtype == "float32" ? "second_order.safetensors" : "second_order_float64.safetensors")))
        #expect(Set(results.names) == Set(expected.names), "\(problem) \(dtype)")
        // float32: both sides round; the largest difference measured was below 1e-5 of a tensor's largest magnitude.
        let tolerance = dtype == "float32" ? Tolerance(relative: 1e-5, absolute: 1e-12) : Tolerance(relative: 1e-10, absolute: 1e-15)
        for name in expected.names {
            let reference: Tensor<Double> = try #require(expected[name]).tensor()
            let actual: Tensor<Double> = try #require(results[name], "\(name) missing").tensor()
            #expect(actual.shape == reference.shape, "\(problem) \(name)")
            expectClose(actual.scalars, reference.scalars, tolerance, "\(problem) \(name) \(dtype)")
        }
    }

    @Test("exact curvature blocks and whole-network products match BackPACK's HMP, GGNMP and Hessian-free products",
          arguments: FixtureProblem.all(in: "backpack") + FixtureProblem.all(in: "curvature"))
    func curvatureProductsMatchBackPACK(_ problem: FixtureProblem) throws {
        let description = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: problem.file("curvature_products.json"))))
        let quantities = try #require((description as? [String: Any])?["computed"] as? [String])
        #expect(quantities.contains("hvp") && quantities.contains("ggn_vp"), "\(problem): BackPACK's Hessian-free products run on every model")
        let results = try problem.compute(quantities: quantities.joined(separator: ","), dtype: "float64",
                                          extra: ["--vectors", problem.file("vectors.safetensors"), "--max-block-size", "100000"])
        let expected = try SafeTensors.read(from: URL(fileURLWithPath: problem.file("curvature_products.safetensors")))
        #expect(Set(results.names) == Set(expected.names), "\(problem)")
        for name in expected.names {
            let reference: Tensor<Double> = try #require(expected[name]).tensor()
            let actual: Tensor<Double> = try #require(results[name], "\(name) missing").tensor()
            #expect(actual.shape == reference.shape, "\(problem) \(name)")
            expectClose(actual.scalars, reference.scalars, Tolerance(relative: 1e-10, absolute: 1e-15), "\(problem) \(name)")
        }
    }

    @Test("individual gradients, norms, second moment, variance and dot products match BackPACK",
          arguments: FixtureProblem.all(in: "backpack"), ["float32", "float64"])
    func matchesBackPACK(_ problem: FixtureProblem, dtype: String) throws {
        let results = try problem.compute(quantities: Self.quantities, dtype: dtype)
        try problem.expectMatch(results, dtype: dtype, tolerance: FixtureProblem.tolerance(dtype))
        guard dtype == "float64", FileManager.default.fileExists(atPath: problem.file("backpack_wrong.safetensors")) else { return }
        let wrong = try SafeTensors.read(from: URL(fileURLWithPath: problem.file("backpack_wrong.safetensors")))
        for name in wrong.names {
            let backpack: Tensor<Double> = try #require(wrong[name]).tensor()
            let ours: Tensor<Double> = try #require(results[name]).tensor()
            #expect(!isClose(backpack.scalars, ours.doubles, Tolerance(relative: 0.1, absolute: 0)), "BackPACK's known defect in \(name) should show")
        }
    }
}
