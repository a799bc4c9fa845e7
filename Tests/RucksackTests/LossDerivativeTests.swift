import Foundation
import Rucksack
import RucksackTestSupport
import Testing

/// A loss with an output and target batch, for derivative checks.
struct LossCase: CustomStringConvertible, Sendable {
    var name: String
    var loss: any Loss<Double>
    var outputShape: [Int]
    var description: String { "\(name) \(loss.reduction) \(outputShape)" }

    func target(_ data: inout TestData) -> LossTarget<Double> {
        switch loss {
        case is CrossEntropyLoss<Double>:
            var shape = outputShape
            let classes = shape.remove(at: 1)
            return .classes(shape: shape, indices: (0..<shape.reduce(1, *)).map { _ in data.integer(0...(classes - 1)) })
        case is BCEWithLogitsLoss<Double>:
            return .values(try! data.stream.uniform(shape: outputShape))
        default:
            return .values(data.tensor(outputShape))
        }
    }

    static let all: [LossCase] = Reduction.allCases.flatMap { reduction in
        [
            LossCase(name: "CrossEntropyLoss", loss: CrossEntropyLoss(reduction: reduction), outputShape: [3, 4]),
            LossCase(name: "CrossEntropyLoss", loss: CrossEntropyLoss(reduction: reduction), outputShape: [2, 3, 2, 2]),
            LossCase(name: "MSELoss", loss: MSELoss(reduction: reduction), outputShape: [3, 2]),
            LossCase(name: "MSELoss", loss: MSELoss(reduction: reduction), outputShape: [2, 2, 3]),
            LossCase(name: "BCEWithLogitsLoss", loss: BCEWithLogitsLoss(reduction: reduction), outputShape: [4, 1]),
            LossCase(name: "BCEWithLogitsLoss", loss: BCEWithLogitsLoss(reduction: reduction), outputShape: [2, 3]),
        ]
    }
}

@Suite("loss derivatives")
struct LossDerivativeTests {
    @Test("gradient, Hessian factors, Hessian products and the batch-summed Hessian", arguments: LossCase.all)
    func derivatives(_ lossCase: LossCase) throws {
        var data = TestData(seed: 4)
        let loss = lossCase.loss, shape = lossCase.outputShape
        let f: Tensor<Double> = data.tensor(shape)
        let target = lossCase.target(&data)
        let value: ([Double]) throws -> Double = { try loss.value(Tensor(shape: shape, scalars: $0), target) }

        let gradient = try loss.gradient(f, target)
        let expectedGradient = try FiniteDifferences.jacobian({ [try value($0)] }, at: f.scalars)[0]
        expectClose(gradient.scalars, expectedGradient, Tolerance(relative: 1e-7, absolute: 1e-9))

        // Dense Hessian of L from the gradient; its per-sample blocks are ∇²_{fₙ} L.
        let hessian = try FiniteDifferences.jacobian({ try loss.gradient(Tensor(shape: shape, scalars: $0), target).scalars }, at: f.scalars)
        let n = shape[0], d = f.count / n
        func block(_ sample: Int) -> [Double] {
            (0..<(d * d)).map { hessian[sample * d + $0 / d][sample * d + $0 % d] }
        }
        let factor = try loss.hessianFactor(f, target, subsampling: nil)
        #expect(Array(factor.shape.dropFirst()) == shape)
        let v = factor.shape[0]
        for sample in 0..<n {
            let columns = (0..<v).map { column in Array(factor.scalars[((column * n + sample) * d)..<((column * n + sample + 1) * d)]) }
            let outer = (0..<(d * d)).map { index in columns.reduce(0) { $0 + $1[index / d] * $1[index % d] } }
            expectClose(outer, block(sample), Tolerance(relative: 1e-7, absolute: 1e-9), "sample \(sample)")
        }
        let subsampled = try loss.hessianFactor(f, target, subsampling: [n - 1, 0, n - 1])
        for (j, sample) in [n - 1, 0, n - 1].enumerated() {
            for column in 0..<v {
                #expect(Array(subsampled.scalars[((column * 3 + j) * d)..<((column * 3 + j + 1) * d)])
                        == Array(factor.scalars[((column * n + sample) * d)..<((column * n + sample + 1) * d)]))
            }
        }

        let m: Tensor<Double> = data.tensor([2] + shape)
        let product = try loss.hessianProduct(m, output: f, target)
        for s in 0..<2 {
            for sample in 0..<n {
                let ms = Array(m.scalars[((s * n + sample) * d)..<((s * n + sample + 1) * d)])
                let h = block(sample)
                let expected = (0..<d).map { i in (0..<d).reduce(0) { $0 + h[i * d + $1] * ms[$1] } }
                expectClose(Array(product.scalars[((s * n + sample) * d)..<((s * n + sample + 1) * d)]), expected, Tolerance(relative: 1e-7, absolute: 1e-9))
            }
        }

        let summed = try loss.batchSummedHessian(f, target)
        let expectedSum = (0..<(d * d)).map { index in (0..<n).reduce(0) { $0 + block($1)[index] } }
        expectClose(summed.scalars, expectedSum, Tolerance(relative: 1e-7, absolute: 1e-9))
    }

    @Test("Monte Carlo factors estimate the Hessian without bias", arguments: LossCase.all.filter { $0.loss.reduction == .mean })
    func sampledFactor(_ lossCase: LossCase) throws {
        var data = TestData(seed: 5)
        let loss = lossCase.loss, shape = lossCase.outputShape
        let f: Tensor<Double> = data.tensor(shape)
        let target = lossCase.target(&data)
        let exact = try loss.hessianFactor(f, target, subsampling: nil)
        let samples = 20_000
        var stream = RandomStream(seed: 6)
        let sampled = try loss.sampledHessianFactor(f, samples: samples, stream: &stream, subsampling: [1])
        #expect(sampled.shape == [samples, 1] + Array(shape.dropFirst()))
        let n = shape[0], d = f.count / n
        func outer(_ factor: Tensor<Double>, columns: Int, sample: Int, of count: Int) -> [Double] {
            (0..<(d * d)).map { index in
                (0..<columns).reduce(0) { total, column in
                    let base = (column * count + sample) * d
                    return total + factor.scalars[base + index / d] * factor.scalars[base + index % d]
                }
            }
        }
        let estimate = outer(sampled, columns: samples, sample: 0, of: 1)
        let truth = outer(exact, columns: exact.shape[0], sample: 1, of: n)
        expectClose(estimate, truth, Tolerance(relative: 0.05, absolute: 1e-4), "Monte Carlo error is about 1/√\(samples)")
    }

    @Test("cross-entropy and BCE with logits keep their precision for logits up to 1e30", arguments: allPrecisions)
    func largeLogits(_ precision: any TensorScalar.Type) throws {
        func check<S: TensorScalar>(_: S.Type) throws {
            let tolerance = Tolerance.unitScale(S.self)
            for scale in [1e5, 1e7, 1e8, 1e20, 1e30] {
                // Equal logits: ln 4 for any scale.
                let equal = try Tensor<S>(repeating: S(scale), shape: [2, 4])
                let ce = try CrossEntropyLoss<S>().value(equal, .classes(shape: [2], indices: [0, 3]))
                expectClose([ce], [Foundation.log(4)], tolerance, "equal logits at \(scale)")
                // One large logit: 0 for its class, the scale for another.
                let one = try Tensor<S>(shape: [2, 4], scalars: [S(scale), 0, 0, 0, S(scale), 0, 0, 0])
                let sum = try CrossEntropyLoss<S>(reduction: .sum).value(one, .classes(shape: [2], indices: [0, 1]))
                expectClose([sum], [scale], tolerance, "one large logit at \(scale)")
                // BCE: max(f, 0) − f y + log(1 + e^{−|f|}) without cancellation.
                let logits = try Tensor<S>(shape: [1, 4], scalars: [S(scale), S(-scale), S(scale), S(-scale)])
                let targets = try Tensor<S>(shape: [1, 4], scalars: [1, 0, 0.5, 0.5])
                let bce = try BCEWithLogitsLoss<S>(reduction: .sum).value(logits, .values(targets))
                expectClose([bce], [scale], tolerance, "BCE at \(scale)")
            }
        }
        try check(precision)
    }

    @Test("BCE with logits accepts targets outside [0, 1], as PyTorch does")
    func bceTargetsOutsideUnitInterval() throws {
        let logits = try Tensor<Double>(shape: [1, 3], scalars: [1, -2, 0.5])
        let targets = try Tensor<Double>(shape: [1, 3], scalars: [2, -1, 0.25])
        let expected = zip(logits.scalars, targets.scalars).reduce(0.0) { total, pair in
            let (f, y) = pair
            return total + max(f, 0) - f * y + Foundation.log(1 + Foundation.exp(-abs(f)))
        }
        let value = try BCEWithLogitsLoss<Double>(reduction: .sum).value(logits, .values(targets))
        expectClose([value], [expected], Tolerance(relative: 1e-14, absolute: 1e-15))
    }

    @Test("bad targets and non-finite losses throw errors naming the loss")
    func errors() throws {
        let output = try Tensor<Double>(shape: [2, 3], scalars: [0, 1, 2, 3, .nan, 5])
        let ce = CrossEntropyLoss<Double>()
        #expect(throws: LossError.self) { try ce.value(output, .classes(shape: [2], indices: [0, 1])) }  // NaN logit
        #expect(throws: LossError.self) { try ce.value(output, .classes(shape: [2], indices: [0, 3])) }
        #expect(throws: LossError.self) { try ce.value(output, .classes(shape: [3], indices: [0, 1, 2])) }
        #expect(throws: LossError.self) { try MSELoss<Double>().value(output, .values(Tensor(zeros: [3, 2]))) }
        let finiteOutput = try Tensor<Double>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        func message(_ body: () throws -> Double) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { try ce.value(finiteOutput, .classes(shape: [2], indices: [0, -100])) }.contains("ignore_index"))
        #expect(message { try ce.value(finiteOutput, .values(finiteOutput)) }.contains("soft-label"))
        #expect(message { try MSELoss<Double>().value(finiteOutput, .values(Tensor(zeros: [1, 3]))) }.contains("would broadcast"))
        let finite = try Tensor<Double>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(throws: LossError.nonFinite(loss: "MSELoss", value: .infinity)) {
            try MSELoss<Double>().value(finite, .values(Tensor(repeating: -.infinity, shape: [2, 3])))
        }
    }
}
