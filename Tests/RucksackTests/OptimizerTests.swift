import Foundation
import Rucksack
import RucksackTestSupport
import Testing

/// Trajectories recorded from `torch.optim` by `scripts/reference/make_optimizer_fixtures.py`.
@Suite("optimizers")
struct OptimizerTests {
    static func fixture() throws -> SafeTensorsFile {
        let url = try #require(Bundle.module.url(forResource: "optimizers", withExtension: "safetensors", subdirectory: "Fixtures"))
        return try SafeTensors.read(from: url)
    }

    static let configurations: [(label: String, make: @Sendable () throws -> any Optimizer<Double>)] = [
        ("sgd", { try SGD(learningRate: 0.1) }),
        ("sgd_momentum", { try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01) }),
        ("sgd_nesterov", { try SGD(learningRate: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1) }),
        ("adam", { try Adam(learningRate: 0.01) }),
        ("adam_decay", { try Adam(learningRate: 0.02, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.05) }),
    ]

    @Test("SGD and Adam follow torch.optim step by step", arguments: 0..<configurations.count)
    func trajectories(_ index: Int) throws {
        let (label, make) = Self.configurations[index]
        let file = try Self.fixture()
        var model = Model<Double>(sequential: [try Linear(inFeatures: 3, outFeatures: 2)])
        try model.setParameter("0.weight", to: file["initial.weight"]!.tensor())
        try model.setParameter("0.bias", to: file["initial.bias"]!.tensor())
        var optimizer = try make()
        for step in 0..<3 {
            let gradients = try Dictionary(uniqueKeysWithValues: ["weight", "bias"].map { name in
                ("0." + name, try #require(file["step\(step).\(name)"]).tensor(as: Double.self))
            })
            try optimizer.step(&model, gradients: gradients)
            for name in ["weight", "bias"] {
                let expected: Tensor<Double> = try #require(file["\(label).step\(step).\(name)"]).tensor()
                expectClose(try model.parameter("0." + name).scalars, expected.scalars, Tolerance(relative: 1e-12, absolute: 1e-15), "\(label) step \(step) \(name)")
            }
        }
    }

    @Test("invalid settings and gradients throw")
    func errors() throws {
        #expect(throws: TensorError.self) { try SGD<Float>(learningRate: 0.1, nesterov: true) }
        #expect(throws: TensorError.self) { try Adam<Float>(beta1: 1) }
        var model = Model<Float>(sequential: [try Linear(inFeatures: 3, outFeatures: 2)])
        var sgd = try SGD<Float>(learningRate: 0.1)
        #expect(throws: TensorError.self) { try sgd.step(&model, gradients: ["0.weight": Tensor(zeros: [3, 2])]) }
    }
}
