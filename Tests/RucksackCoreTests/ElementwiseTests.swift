import Foundation
import RucksackCore
import RucksackTestSupport
import Testing

@Suite("element-wise operations")
struct ElementwiseTests {
    /// Pairs of broadcast-compatible shapes, with size-1, zero-size and rank-0 cases.
    static let shapePairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 1], [1, 5]), ([2, 1, 4], [3, 1]), ([], [2, 3]),
        ([2, 3], []), ([0, 3], [3]), ([4, 0], [1, 1]), ([1], [5, 1, 2]), ([2, 3, 1, 2], [3, 4, 1]),
        // Each kind of inner run: both contiguous, one operand repeated along it, both strided.
        ([2, 3, 4], [3, 1]), ([2, 3], [2, 1]), ([1, 4], [3, 4]), ([4, 1, 3], [1, 5, 1]), ([2, 1, 3], [2, 4, 1]),
        ([3, 1, 1, 5], [1, 2, 7, 1]), ([1, 1], [1]),
    ]

    @Test("broadcasting arithmetic equals the loop definition", arguments: allPrecisions)
    func broadcastArithmetic(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 1)
            let operations: [(String, (Tensor<S>, Tensor<S>) throws -> Tensor<S>, (Double, Double) -> Double)] = [
                ("+", { try $0 + $1 }, +), ("-", { try $0 - $1 }, -), ("*", { try $0 * $1 }, *),
                ("/", { try $0 / $1 }, /), ("max", { try $0.maximum($1) }, { max($0, $1) }),
                ("min", { try $0.minimum($1) }, { min($0, $1) }),
            ]
            for (lhsShape, rhsShape) in Self.shapePairs {
                let a: Tensor<S> = data.tensor(lhsShape), b: Tensor<S> = data.tensor(rhsShape)
                for (name, operation, reference) in operations {
                    let result = try operation(a, b)
                    let expected = NaiveTensorOps.broadcast(a.doubles, lhsShape, b.doubles, rhsShape, reference)
                    #expect(result.shape == expected.shape, "\(name) \(lhsShape) \(rhsShape)")
                    expectClose(result.scalars, expected.values, Tolerance.unitScale(S.self), "\(name) \(lhsShape) \(rhsShape)")
                }
            }
        }
    }

    /// Stacks of x-shaped tensors take a loop of their own, other broadcasts zipWith; both must
    /// give exactly what multiplying by the step function gives, NaN, zero and infinities included.
    @Test("scaling by the step function in one pass equals multiplying by it", arguments: allPrecisions)
    func scaledByStep(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 12)
            let special: [S] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1]
            // The last two are large enough to be shared out over two threads, one splitting inside a copy of x.
            for (mShape, xShape) in [([3, 2, 7], [2, 7]), ([2, 7], [2, 7]), ([4, 0, 3], [0, 3]), ([2, 7], [2, 1]), ([3, 1], [1, 4]),
                                     ([3, 200_003], [200_003]), ([600_001], [600_001])] {
                var m: Tensor<S> = data.tensor(mShape), x: Tensor<S> = data.tensor(xShape)
                for i in special.indices where i < m.count && i < x.count {
                    m = try Tensor(shape: m.shape, scalars: m.scalars.enumerated().map { $0.offset == i ? special[i] : $0.element })
                    x = try Tensor(shape: x.shape, scalars: x.scalars.enumerated().map { $0.offset == special.count - 1 - i ? special[i] : $0.element })
                }
                for (below, above) in [(S(0), S(1)), (S(0.25), S(1))] {
                    let fused = try m.scaledByStep(of: x, atOrBelowZero: below, aboveZero: above)
                    let reference = try m * x.step(atOrBelowZero: below, aboveZero: above)
                    #expect(fused.shape == reference.shape)
                    #expect(zip(fused.scalars, reference.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(mShape) by \(xShape)")
                }
            }
        }
    }

    /// Small tensors, and ones large enough to be shared out over two threads; NaN, zero and
    /// infinities in both, ReLU's −∞ giving 0.
    @Test("rectification equals its definition element by element", arguments: allPrecisions)
    func rectified(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 13)
            let special: [S] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1]
            for shape in [[3, 7], [0, 4], [], [600_001]] {
                let random: Tensor<S> = data.tensor(shape)
                let x = try Tensor(shape: shape, scalars: random.scalars.enumerated().map { $0.offset < special.count ? special[$0.offset] : $0.element })
                for slope in [S(0), S(0.125)] {
                    let y = x.rectified(negativeSlope: slope)
                    let expected = x.scalars.map { $0 > 0 ? $0 : (slope == 0 && $0 == -.infinity ? 0 : slope * $0) }
                    #expect(y.shape == shape)
                    #expect(zip(y.scalars, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(shape), slope \(slope)")
                }
            }
        }
    }

    /// Ranks 2 to 5, no samples or no positions, and a stack large enough for two threads.
    @Test("adding along the channels equals broadcasting the bias", arguments: allPrecisions)
    func addingAlongChannels(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 14)
            for shape in [[3, 4], [2, 3, 5], [2, 3, 4, 5], [1, 2, 3, 2, 2], [0, 3, 4, 4], [2, 3, 0, 4], [4, 16, 100, 100]] {
                let x: Tensor<S> = data.tensor(shape), bias: Tensor<S> = data.tensor([shape[1]])
                let expected = try x + bias.reshaped([shape[1]] + [Int](repeating: 1, count: shape.count - 2))
                let sum = try x.addingAlongChannels(bias)
                #expect(sum.shape == shape)
                #expect(sum.scalars == expected.scalars, "\(shape)")
            }
            #expect(throws: TensorError.shapeMismatch(operation: "add along channels", lhs: [2, 3, 4], rhs: [4])) {
                try (data.tensor([2, 3, 4]) as Tensor<S>).addingAlongChannels(data.tensor([4]))
            }
            #expect(throws: TensorError.self) { try (data.tensor([3]) as Tensor<S>).addingAlongChannels(data.tensor([3])) }
        }
    }

    @Test("incompatible shapes throw an error naming both shapes")
    func broadcastMismatch() throws {
        let a = try Tensor<Float>(zeros: [2, 3]), b = try Tensor<Float>(zeros: [4])
        #expect(throws: TensorError.shapeMismatch(operation: "add", lhs: [2, 3], rhs: [4])) { try a + b }
        let message = String(describing: TensorError.shapeMismatch(operation: "add", lhs: [2, 3], rhs: [4]))
        #expect(message.contains("[2, 3]") && message.contains("[4]") && message.contains("add"))
    }

    @Test("unary maths equals Foundation's functions", arguments: allPrecisions)
    func unaryMaths(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 2)
            let x: Tensor<S> = data.tensor([3, 0, 2]) // zero-size passes through
            #expect(x.exp().shape == [3, 0, 2])
            let values: Tensor<S> = data.tensor([5, 7]) * 4
            let positive = values.abs() + 0.01
            let sigmoid: (Double) -> Double = { 1 / (1 + Foundation.exp(-$0)) }
            let softplus: (Double) -> Double = { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) }
            let cases: [(String, Tensor<S>, Tensor<S>, (Double) -> Double)] = [
                ("exp", values, values.exp(), Foundation.exp), ("log", positive, positive.log(), Foundation.log),
                ("log1p", positive, positive.log1p(), Foundation.log1p), ("sqrt", positive, positive.sqrt(), Foundation.sqrt),
                ("abs", values, values.abs(), Swift.abs), ("tanh", values, values.tanh(), Foundation.tanh),
                ("erf", values, values.erf(), Foundation.erf), ("sigmoid", values, values.sigmoid(), sigmoid),
                ("softplus", values * 8, (values * 8).softplus(), softplus), ("square", values, values.squared(), { $0 * $0 }),
                ("clamp", values, values.clamped(min: -1, max: 0.5), { min(max($0, -1), 0.5) }),
                ("negate", values, -values, { -$0 }),
            ]
            for (name, input, output, reference) in cases {
                // Each element is compared with its own magnitude: these are not sums.
                for (x, y) in zip(input.doubles, output.scalars) {
                    expectClose([y], [reference(x)], Tolerance(relative: Tolerance.unitScale(S.self).relative * 10, absolute: 1e-30), "\(name)(\(x))")
                }
            }
            // Extreme arguments stay finite where the function is.
            let extremes = try Tensor<S>(shape: [2], scalars: [-1000, 1000])
            #expect(extremes.sigmoid().scalars == [0, 1])
            #expect(extremes.softplus().scalars == [0, 1000])
        }
    }
}
