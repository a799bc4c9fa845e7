import Foundation
import Rucksack
@testable import RucksackCLI
import RucksackTestSupport
import Testing

/// `rucksack compute` refuses bad inputs with a message naming the problem, exits non-zero and
/// writes no output file.
@Suite("rucksack compute errors")
struct ComputeErrorTests {
    /// A scratch directory holding a small valid problem that each case then spoils.
    struct Scratch {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-cli-\(UUID().uuidString)")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        init(model: String = #"{"layers": [{"type": "Linear", "in_features": 3, "out_features": 2}]}"#,
             inputShape: [Int] = [4, 3], weightShape: [Int] = [2, 3], inputValue: Float = 1) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(model.utf8).write(to: URL(fileURLWithPath: path("model.json")))
            var weights = SafeTensorsFile()
            try weights.insert(ArrayData(Tensor<Float>(repeating: 0.1, shape: weightShape)), named: "0.weight")
            try weights.insert(ArrayData(Tensor<Float>(zeros: [2])), named: "0.bias")
            try SafeTensors.write(weights, to: URL(fileURLWithPath: path("weights.safetensors")))
            var batch = SafeTensorsFile()
            try batch.insert(ArrayData(Tensor<Float>(repeating: inputValue, shape: inputShape)), named: "input")
            try batch.insert(ArrayData([Int64](repeating: 1, count: inputShape[0]), shape: [inputShape[0]]), named: "target")
            try SafeTensors.write(batch, to: URL(fileURLWithPath: path("batch.safetensors")))
        }

        /// Writes a vector file with ones of these shapes; returns its path.
        func vectors(_ shapes: [String: [Int]]) throws -> String {
            var file = SafeTensorsFile()
            for (name, shape) in shapes { try file.insert(ArrayData(Tensor<Float>(repeating: 1, shape: shape)), named: name) }
            try SafeTensors.write(file, to: URL(fileURLWithPath: path("vectors.safetensors")))
            return path("vectors.safetensors")
        }

        /// The command's arguments for this problem, with `extra` appended.
        func arguments(_ extra: [String]) -> [String] {
            ["compute", "--model", path("model.json"), "--weights", path("weights.safetensors"),
             "--batch", path("batch.safetensors"), "--loss", "cross-entropy", "--output", path("out.safetensors")] + extra
        }

        /// Runs the command with `option` given `value` instead of this problem's file.
        func run(replacing option: String, with value: String) throws -> String? {
            var arguments = arguments([])
            arguments[try #require(arguments.firstIndex(of: option)) + 1] = value
            return try run(arguments: arguments)
        }

        /// Runs the command and returns the error's message, or `nil` if it succeeded.
        func run(_ extra: [String] = []) throws -> String? {
            try run(arguments: arguments(extra))
        }

        private func run(arguments: [String]) throws -> String? {
            do {
                var command = try RucksackCommand.parseAsRoot(arguments)
                try command.run()
                return nil
            } catch {
                #expect(RucksackCommand.exitCode(for: error) != .success)
                #expect(!FileManager.default.fileExists(atPath: path("out.safetensors")), "no output after an error")
                return RucksackCommand.message(for: error)
            }
        }
    }

    @Test("a valid problem writes loss and gradients")
    func succeeds() throws {
        let scratch = try Scratch()
        #expect(try scratch.run() == nil)
        let results = try SafeTensors.read(from: URL(fileURLWithPath: scratch.path("out.safetensors")))
        #expect(Set(results.names) == ["loss", "0.weight.grad", "0.bias.grad"])
    }

    @Test("dense exact blocks and whole-network products are written under their fields and agree with each other")
    func curvatureProducts() throws {
        let scratch = try Scratch()
        let vectors = try scratch.vectors(["0.weight": [2, 3], "0.bias": [2]])
        #expect(try scratch.run(["--quantities", "ggn_block,hessian_block,pch_abs_block,pch_clip_block,hvp,ggn_vp", "--vectors", vectors, "--dtype", "float64"]) == nil)
        let results = try SafeTensors.read(from: URL(fileURLWithPath: scratch.path("out.safetensors")))
        #expect(Set(results.names) == Set(["0.weight", "0.bias"].flatMap { name in
            ["ggn_block", "hessian_block", "pch_abs_block", "pch_clip_block", "hvp", "ggn_vp"].map { "\(name).\($0)" } }))
        let block: Tensor<Double> = try #require(results["0.weight.hessian_block"]).tensor()
        #expect(block.shape == [6, 6])
        // One linear layer: no curvature between parameters and loss, so the Hessian is the GGN
        // (the values themselves are checked against dense references in RucksackTests).
        #expect(block.scalars == (try #require(results["0.weight.ggn_block"]).tensor(as: Double.self)).scalars)
        let hvp: Tensor<Double> = try #require(results["0.weight.hvp"]).tensor()
        #expect(hvp.scalars == (try #require(results["0.weight.ggn_vp"]).tensor(as: Double.self)).scalars)
    }

    @Test("HBP blocks take their switches and splitting from the command line")
    func hbpBlocks() throws {
        // Every sample is the same, so HBP's averages are exact and its blocks the exact ones.
        let scratch = try Scratch()
        #expect(try scratch.run(["--quantities", "ggn_block,hbp_ggn_block,hbp_hessian_block", "--dtype", "float64",
                                  "--hbp-average-input-jacobian", "false", "--hbp-average-parameter-jacobian", "false"]) == nil)
        var results = try SafeTensors.read(from: URL(fileURLWithPath: scratch.path("out.safetensors")))
        let exact: Tensor<Double> = try #require(results["0.weight.ggn_block"]).tensor()
        expectClose(try #require(results["0.weight.hbp_ggn_block"]).tensor(as: Double.self).scalars, exact.scalars,
                    Tolerance(relative: 1e-14, absolute: 1e-16), "hbp_ggn_block")
        try FileManager.default.removeItem(atPath: scratch.path("out.safetensors"))
        #expect(try scratch.run(["--quantities", "hbp_pch_abs_block", "--dtype", "float64", "--hbp-max-blocks", "2"]) == nil)
        results = try SafeTensors.read(from: URL(fileURLWithPath: scratch.path("out.safetensors")))
        let split: Tensor<Double> = try #require(results["0.weight.hbp_pch_abs_block"]).tensor()
        // Two rows in two chunks: the block between the rows is zero, the rows' own blocks are kept.
        for index in 0..<36 {
            let (i, j) = (index / 6, index % 6)
            #expect((split.scalars[index] == 0) == (i / 3 != j / 3) || exact.scalars[index] == 0, "entry \(i), \(j)")
        }
        try FileManager.default.removeItem(atPath: scratch.path("out.safetensors"))
        #expect(try scratch.run(["--quantities", "hbp_ggn_block", "--hbp-max-blocks", "0"])?.contains("--hbp-max-blocks must be at least 1") == true)
    }

    @Test("--allow-non-finite writes non-finite results")
    func allowNonFinite() throws {
        let scratch = try Scratch(inputValue: 1e30)
        #expect(try scratch.run(["--quantities", "loss,batch_l2", "--allow-non-finite"]) == nil)
        let results = try SafeTensors.read(from: URL(fileURLWithPath: scratch.path("out.safetensors")))
        let written: Tensor<Float> = try #require(results["0.weight.batch_l2"]).tensor()
        #expect(!written.isFinite && results.names.filter { $0 != "0.weight.batch_l2" }.allSatisfy { (try? results[$0]!.tensor(as: Float.self).isFinite) == true })
    }

    @Test("each mistake is named", arguments: [
        ("model", "layer 0 (Linear)"),  // input with 5 features for a Linear(3, 2)
        ("weights", "'0.weight'"),
        ("layer", "layer 0 (Conv9d), key 'type'"),
        ("quantity", "'loss,hessian' is invalid for '--quantities"),
        ("loss", "--loss"),
        ("subsampling with variance", "variance uses the whole batch"),
        ("subsampling with the gradient only", "loss, grad use the whole batch"),
        ("empty subsampling item", "'3,,0' is invalid for '--subsampling"),
        ("empty subsampling", "'' is invalid for '--subsampling"),
        ("empty batch", "the batch is empty: the input has shape [0, 3]"),
        ("infinite input", "non-finite values (NaN or ±∞) in input; they first appear in the batch file"),
        ("overflow in a layer", "in loss; they first appear in the forward pass, at layer 1 (LeakyReLU)"),
        ("overflow in a quantity", "in 0.weight.batch_l2; they first appear in the quantities, computed from finite gradients"),
        ("block too large", "hessian_block: parameter 0.weight has 6 entries, so its dense block would be 6×6 (288 bytes in float64); the limit is 4 entries"),
        ("hvp without vectors", "hvp multiplies with a vector: pass --vectors"),
        ("vectors without hvp", "--vectors is used only by hvp and ggn_vp"),
        ("vector entry missing", "hvp: the vector has no entry for parameter '0.bias' (shape [2])"),
    ])
    func failures(_ mistake: String, _ expected: String) throws {
        let scratch: Scratch
        var extra: [String] = []
        switch mistake {
        case "model": scratch = try Scratch(inputShape: [4, 5])
        case "weights": scratch = try Scratch(weightShape: [3, 3])
        case "layer": scratch = try Scratch(model: #"{"layers": [{"type": "Conv9d"}]}"#)
        case "quantity": scratch = try Scratch(); extra = ["--quantities", "loss,hessian"]
        case "subsampling with variance": scratch = try Scratch(); extra = ["--quantities", "variance", "--subsampling", "1"]
        case "subsampling with the gradient only": scratch = try Scratch(); extra = ["--subsampling", "1"]
        case "empty subsampling item": scratch = try Scratch(); extra = ["--quantities", "batch_grad", "--subsampling", "3,,0"]
        case "empty subsampling": scratch = try Scratch(); extra = ["--quantities", "batch_grad", "--subsampling", ""]
        case "empty batch": scratch = try Scratch(inputShape: [0, 3])
        case "infinite input": scratch = try Scratch(inputValue: .infinity)
        case "overflow in a layer":
            let model = #"{"layers": [{"type": "Linear", "in_features": 3, "out_features": 2}, {"type": "LeakyReLU", "negative_slope": 1e30}]}"#
            scratch = try Scratch(model: model, inputValue: -1e10)
        case "overflow in a quantity": scratch = try Scratch(inputValue: 1e30); extra = ["--quantities", "loss,batch_l2"]
        case "block too large": scratch = try Scratch(); extra = ["--quantities", "ggn_block,hessian_block", "--max-block-size", "4"]
        case "hvp without vectors": scratch = try Scratch(); extra = ["--quantities", "hvp"]
        case "vectors without hvp": scratch = try Scratch(); extra = ["--quantities", "grad", "--vectors", try scratch.vectors(["0.weight": [2, 3]])]
        case "vector entry missing": scratch = try Scratch(); extra = ["--quantities", "hvp", "--vectors", try scratch.vectors(["0.weight": [2, 3]])]
        default: scratch = try Scratch(); extra = ["--loss", "hinge"]
        }
        let message = try #require(try scratch.run(extra), "\(mistake) must fail")
        #expect(message.contains(expected), "\(message)")
    }
}
