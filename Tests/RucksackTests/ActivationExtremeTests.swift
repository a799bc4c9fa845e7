import Foundation
import Rucksack
import RucksackTestSupport
import Testing

/// Every activation at ±∞, ±1e30, ±100 and 0 against PyTorch's values and derivatives
/// (`scripts/reference/make_activation_fixtures.py`). Where PyTorch gives NaN, its limit is
/// expected instead: GELU and SiLU at −∞ are 0 with derivative 0, and at +∞ have derivative 1
/// (and GELU, whose float32 kernel gives NaN there, the value +∞).
@Suite("activations at extreme inputs")
struct ActivationExtremeTests {
    static let limitsWherePyTorchGivesNaN: [String: (atMinusInfinity: (value: Double, derivative: Double), atPlusInfinity: (value: Double, derivative: Double))] = [
        "GELU": ((0, 0), (.infinity, 1)),
        "SiLU": ((0, 0), (.infinity, 1)),
    ]

    static func layer<S: TensorScalar>(_ name: String, _: S.Type) -> any Layer<S> {
        let layers: [String: any Layer<S>] = [
            "ReLU": ReLU(), "LeakyReLU": LeakyReLU(), "Sigmoid": Sigmoid(), "Tanh": Tanh(), "LogSigmoid": LogSigmoid(),
            "ELU": ELU(), "SELU": SELU(), "Softplus": Softplus(), "GELU": GELU(), "SiLU": SiLU(),
        ]
        return layers[name]!
    }

    @Test("values and derivatives match PyTorch", arguments: ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "LogSigmoid", "ELU", "SELU", "Softplus", "GELU", "SiLU"])
    func matchesPyTorch(_ name: String) throws {
        try check(name, Float.self, "float32", Tolerance(relative: 1e-6, absolute: 1e-40))
        try check(name, Double.self, "float64", Tolerance(relative: 1e-14, absolute: 1e-300))
    }

    private func check<S: TensorScalar>(_ name: String, _: S.Type, _ dtype: String, _ tolerance: Tolerance) throws {
        let url = try #require(Bundle.module.url(forResource: "activations_at_extremes", withExtension: "safetensors", subdirectory: "Fixtures"))
        let fixture = try SafeTensors.read(from: url)
        let input: Tensor<S> = try #require(fixture["\(dtype).input"]).tensor()
        let layer = Self.layer(name, S.self)
        let io = try layer.forward(input.reshaped([1, input.count]))
        let derivative = try layer.transposedJacobianProduct(Tensor(repeating: 1, shape: [1, 1, input.count]), io: io)
        for (what, actual) in [("value", io.output), ("derivative", derivative)] {
            let expected: Tensor<Double> = try #require(fixture["\(dtype).\(name).\(what)"]).tensor()
            for (index, (x, (ours, reference))) in zip(input.doubles, zip(actual.doubles, expected.scalars)).enumerated() {
                var wanted = reference
                if reference.isNaN, let limits = Self.limitsWherePyTorchGivesNaN[name] {
                    let limit = x < 0 ? limits.atMinusInfinity : limits.atPlusInfinity
                    wanted = what == "value" ? limit.value : limit.derivative
                }
                let comment = "\(name) \(what) at \(x) (\(dtype), element \(index)): \(ours), expected \(wanted)"
                if wanted.isInfinite || wanted.isNaN {
                    #expect(ours == wanted, "\(comment)")
                } else {
                    #expect(ours.isFinite && abs(ours - wanted) <= tolerance.allowed(scale: abs(wanted)), "\(comment)")
                }
            }
        }
    }
}
