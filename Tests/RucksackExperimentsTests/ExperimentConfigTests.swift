import Foundation
import Rucksack
@testable import RucksackExperiments
import Testing

private func decode(_ text: String) throws -> ExperimentConfig {
    try ExperimentConfig.decode(Array(text.utf8), path: "test.json", folder: URL(fileURLWithPath: "/data/configs"))
}

@Suite struct ExperimentConfigTests {
    @Test func runsInheritTheSharedSettingsAndOverrideThem() throws {
        let config = try decode("""
            {"name": "fig", "data": "fashion-mnist", "data_dir": "../sets/fmnist", "model": "fcnn", "batch_size": 500, "seeds": [0, 3],
             "runs": [{"label": "SGD", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
                      {"label": "CG, 4 blocks", "optimizer": "cg-newton", "curvature": "pch-abs", "products": "hbp", "max_blocks": 4,
                       "lr": 0.1, "alpha": 0.02, "batch_size": 1000}],
             "figures": [{"y": "test_accuracy", "x": "wall_seconds", "y_scale": "log"}]}
            """)
        #expect(config.name == "fig")
        #expect(config.dataDirectory?.path == "/data/sets/fmnist")
        #expect(config.runs.map(\.label) == ["SGD", "CG, 4 blocks"])
        #expect(config.runs[0].settings.map(\.seed) == [0, 3])
        #expect(config.runs[0].settings[0].optimizer == .sgd(learningRate: 0.1, momentum: 0.9))
        #expect(config.runs[0].settings[0].batchSize == 500)
        let cg = config.runs[1].settings[1]
        #expect(cg.batchSize == 1000 && cg.dataSet == .fashionMNIST && cg.model == .fcnn && cg.folderName == "cg-4-blocks")
        #expect(cg.optimizer == .cgNewton(try CGNewtonSettings(curvature: .pchAbs, products: .hbp, maxBlocks: 4, learningRate: 0.1, alpha: 0.02)))
        #expect(config.figures == [ExperimentConfig.Figure(y: "test_accuracy", x: "wall_seconds", yScale: .log, title: nil)])
    }

    /// Each mistake, with the byte offset of the value or key the message names.
    @Test(arguments: [
        (#"{"name": "x", "runs": [{"label": "a", "optimizer": "sgd", "lr": 1, "data": "mnist", "model": "mlp", "momentun": 0.9}]}"#,
         "test.json, byte offset 100: unknown key 'momentun'"),
        (#"{"name": "x", "data": "mnist", "model": "mlp", "runs": [{"label": "a", "optimizer": "adam", "momentum": 0.9}]}"#,
         "test.json, byte offset 104: 'momentum' does not apply to adam (run 'a')"),
        (#"{"name": "x", "data": "mnist", "model": "mlp", "runs": [{"label": "a", "optimizer": "sgd"}]}"#,
         "test.json, byte offset 56: run 'a' needs 'lr'"),
        (#"{"name": "x", "data": "svhn", "model": "mlp", "runs": [{"label": "a", "optimizer": "sgd", "lr": 1}]}"#,
         "test.json, byte offset 22: 'data' must be one of mnist, fashion-mnist, cifar10, cifar100, got 'svhn'"),
        (#"{"name": "x", "data": "mnist", "model": "mlp", "batch_size": 0, "runs": [{"label": "a", "optimizer": "sgd", "lr": 1}]}"#,
         "test.json, byte offset 61: 'batch_size' must be a positive whole number, got 0"),
        (#"{"name": "x", "data": "mnist", "model": "mlp", "runs": [{"label": "a", "optimizer": "sgd", "lr": 1}, {"label": "A", "optimizer": "sgd", "lr": 2}]}"#,
         "test.json, byte offset 101: labels 'a' and 'A' give the same folder name"),
        (#"{"name": "x", "runs": [{"label": "a",}]}"#, "test.json, byte offset 37: invalid JSON"),
    ])
    func mistakesNameTheKeyAndTheByteOffset(text: String, message: String) {
        do {
            _ = try decode(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".hasPrefix("config " + message), "\(error)")
        }
    }

    @Test func cgNewtonSettingsRefuseWhatCannotWork() {
        #expect(throws: ExperimentError.self) { try CGNewtonSettings(curvature: .hessian, products: .exact, learningRate: 1, alpha: 0) }
        #expect(throws: ExperimentError.self) { try CGNewtonSettings(curvature: .ggn, products: .exact, maxBlocks: 4, learningRate: 1, alpha: 0) }
    }

    /// The committed reproduction configs stay valid.
    @Test func theCommittedConfigsParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("experiments")
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        #expect(files.count == 6)
        for file in files {
            let config = try ExperimentConfig.read(from: file)
            #expect(config.name == file.deletingPathExtension().lastPathComponent && !config.runs.isEmpty)
        }
    }
}
