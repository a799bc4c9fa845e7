import Rucksack
import RucksackTestSupport
import Testing

/// Every product of every layer against dense Float64 Jacobians assembled column by column from
/// the forward map by finite differences.
@Suite("layer derivatives")
struct LayerDerivativeTests {
    /// Central differences in Float64 are good to about 1e-9 absolute on these data of order one.
    static let tolerance = Tolerance(relative: 1e-7, absolute: 1e-9)

    @Test("input Jacobian products and the residual diagonal", arguments: LayerCase.all)
    func inputProducts(_ layerCase: LayerCase) throws {
        var data = TestData(seed: 1)
        let (layer, inputShape) = try layerCase.make(&data)
        let x = layerCase.input(&data, shape: inputShape)
        let io = try layer.forward(x)
        let jacobian = try FiniteDifferences.jacobian({ try layer(Tensor(shape: inputShape, scalars: $0)).scalars }, at: x.scalars)
        let v = 3
        let m: Tensor<Double> = data.tensor([v] + inputShape)
        let u: Tensor<Double> = data.tensor([v] + io.output.shape)
        let jm = try layer.jacobianProduct(m, io: io), jtu = try layer.transposedJacobianProduct(u, io: io)
        let bare = LayerIO(input: io.input, output: io.output)
        #expect(try layer.jacobianProduct(m, io: bare) == jm && layer.transposedJacobianProduct(u, io: bare) == jtu)
        #expect(jm.shape == [v] + io.output.shape && jtu.shape == [v] + inputShape)
        let (inCount, outCount) = (x.count, io.output.count)
        for s in 0..<v {
            let ms = Array(m.scalars[(s * inCount)..<((s + 1) * inCount)])
            let us = Array(u.scalars[(s * outCount)..<((s + 1) * outCount)])
            let expectedJm = jacobian.map { row in zip(row, ms).reduce(0) { $0 + $1.0 * $1.1 } }
            let expectedJtu = (0..<inCount).map { i in (0..<outCount).reduce(0) { $0 + jacobian[$1][i] * us[$1] } }
            expectClose(Array(jm.scalars[(s * outCount)..<((s + 1) * outCount)]), expectedJm, Self.tolerance)
            expectClose(Array(jtu.scalars[(s * inCount)..<((s + 1) * inCount)]), expectedJtu, Self.tolerance)
        }
        // Adjointness holds exactly, not just to finite-difference accuracy.
        let lhs = zip(jm.scalars, u.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        let rhs = zip(m.scalars, jtu.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        expectClose([lhs], [rhs], Tolerance(relative: 1e-12, absolute: 1e-13), "⟨J m, u⟩ = ⟨m, Jᵀ u⟩")

        let delta: Tensor<Double> = data.tensor(io.output.shape)
        let residual = try layer.residualDiagonal(outputGradient: delta, io: io)
        let expectedResidual = try x.scalars.indices.map { i in
            try FiniteDifferences.secondDerivative(along: i, at: x.scalars, step: layerCase.wellSeparatedInput ? 0.01 : nil) { point in
                zip(try layer(Tensor(shape: inputShape, scalars: point)).scalars, delta.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            }
        }
        if layer.inputHessianStructure == .zero {
            #expect(residual.scalars.allSatisfy { $0 == 0 })
        }
        // Second differences are good to about 1e-7 absolute here (rounding over a squared step).
        expectClose(residual.scalars, expectedResidual, Tolerance(relative: 1e-6, absolute: 1e-7), "residual")
    }

    /// A layer case run forward, its dense input Jacobian by finite differences and a random
    /// symmetric `M` over its output features, for the sandwich checks.
    static func sandwichCase(_ layerCase: LayerCase, seed: UInt64) throws
        -> (layer: any Layer<Double>, io: LayerIO<Double>, jacobian: [[Double]], m: Tensor<Double>) {
        var data = TestData(seed: seed)
        let (layer, inputShape) = try layerCase.make(&data)
        let x = layerCase.input(&data, shape: inputShape)
        let io = try layer.forward(x)
        let dOut = io.output.count / inputShape[0]
        let jacobian = try FiniteDifferences.jacobian({ try layer(Tensor(shape: inputShape, scalars: $0)).scalars }, at: x.scalars)
        let a: Tensor<Double> = data.tensor([dOut, dOut])
        return (layer, io, jacobian, try a + a.transposed())
    }

    @Test("batch-averaged sandwich (1/N) Σ Jₙᵀ M Jₙ", arguments: LayerCase.all)
    func sandwich(_ layerCase: LayerCase) throws {
        let (layer, io, jacobian, m) = try Self.sandwichCase(layerCase, seed: 2)
        let (n, dIn, dOut) = (io.batchSize, io.input.count / io.batchSize, io.output.count / io.batchSize)
        let result = try layer.batchAveragedSandwich(m, io: io)
        var expected = [Double](repeating: 0, count: dIn * dIn)
        for sample in 0..<n {
            // Jₙ entry (p, i) and the product M·Jₙ, then Jₙᵀ(M·Jₙ).
            func jn(_ p: Int, _ i: Int) -> Double { jacobian[sample * dOut + p][sample * dIn + i] }
            var mj = [Double](repeating: 0, count: dOut * dIn)
            for p in 0..<dOut {
                for q in 0..<dOut where m.scalars[p * dOut + q] != 0 {
                    for j in 0..<dIn { mj[p * dIn + j] += m.scalars[p * dOut + q] * jn(q, j) }
                }
            }
            for i in 0..<dIn {
                for p in 0..<dOut {
                    let factor = jn(p, i) / Double(n)
                    if factor == 0 { continue }
                    for j in 0..<dIn { expected[i * dIn + j] += factor * mj[p * dIn + j] }
                }
            }
        }
        #expect(result.shape == [dIn, dIn])
        expectClose(result.scalars, expected, Self.tolerance)
    }

    @Test("averaged-Jacobian sandwich J̄ᵀ M J̄ with J̄ = (1/N) Σ Jₙ", arguments: LayerCase.all)
    func averagedJacobianSandwich(_ layerCase: LayerCase) throws {
        let (layer, io, jacobian, m) = try Self.sandwichCase(layerCase, seed: 6)
        let (n, dIn, dOut) = (io.batchSize, io.input.count / io.batchSize, io.output.count / io.batchSize)
        // J̄ (p, i) = (1/N) Σₙ Jₙ (p, i).
        let mean = (0..<dOut).map { p in (0..<dIn).map { i in (0..<n).reduce(0) { $0 + jacobian[$1 * dOut + p][$1 * dIn + i] } / Double(n) } }
        // M J̄ first, then J̄ᵀ (M J̄).
        let mj = (0..<dOut).map { p in (0..<dIn).map { j in (0..<dOut).reduce(0) { $0 + m.scalars[p * dOut + $1] * mean[$1][j] } } }
        let expected = (0..<(dIn * dIn)).map { index in
            let (i, j) = (index / dIn, index % dIn)
            return (0..<dOut).reduce(0) { $0 + mean[$1][i] * mj[$1][j] }
        }
        let result = try layer.averagedJacobianSandwich(m, io: io)
        #expect(result.shape == [dIn, dIn])
        expectClose(result.scalars, expected, Self.tolerance)
    }

    @Test("gradient tangent terms: how Jᵀδ and J_θᵀδ move along an input and parameter direction", arguments: LayerCase.all)
    func gradientTangentTerms(_ layerCase: LayerCase) throws {
        var data = TestData(seed: 7)
        let (layer, inputShape) = try layerCase.make(&data)
        let x = layerCase.input(&data, shape: inputShape)
        let delta: Tensor<Double> = data.tensor(try layer(x).shape)
        // Small directions, so that the finite-difference steps cross no kink of the layer.
        let inputTangent = data.tensor(inputShape, Double.self) * 0.01
        let parameterTangents = try Dictionary(uniqueKeysWithValues: layer.parameterNames.map { ($0, try data.tensor(layer.parameter($0).shape, Double.self)) })
        /// The layer and its input moved by `t` along the directions.
        func moved(_ t: Double) throws -> (layer: any Layer<Double>, io: LayerIO<Double>) {
            var copy = layer
            for (name, tangent) in parameterTangents { try copy.setParameter(name, to: layer.parameter(name) + tangent * t) }
            return (copy, try copy.forward(x + inputTangent * t))
        }
        let terms = try layer.gradientTangentTerms(outputGradient: delta, inputTangent: inputTangent, parameterTangents: parameterTangents, io: layer.forward(x))
        let inputChange = try FiniteDifferences.derivative(along: 0, at: [0]) { t in
            let (copy, io) = try moved(t[0])
            return try copy.transposedJacobianProduct(delta.unsqueezed(at: 0), io: io).scalars
        }
        expectClose(try terms.input?.scalars ?? Tensor<Double>(zeros: inputShape).scalars, inputChange, Self.tolerance, "input")
        for name in layer.parameterNames {
            let change = try FiniteDifferences.derivative(along: 0, at: [0]) { t in
                let (copy, io) = try moved(t[0])
                return try copy.transposedParameterJacobianProduct(delta.unsqueezed(at: 0), parameter: name, io: io, sumOverSamples: true, subsampling: nil).scalars
            }
            expectClose(try terms.parameters[name]?.scalars ?? Tensor<Double>(zeros: layer.parameter(name).shape).scalars, change, Self.tolerance, name)
        }
    }

    @Test("parameter Jacobian products, summed, per sample and sub-sampled",
          arguments: LayerCase.parameterized)
    func parameterProducts(_ layerCase: LayerCase) throws {
        var data = TestData(seed: 3)
        let (layer, inputShape) = try layerCase.make(&data)
        let x = layerCase.input(&data, shape: inputShape)
        let io = try layer.forward(x)
        let n = inputShape[0], outPerSample = io.output.count / n
        for name in layer.parameterNames {
            let theta = try layer.parameter(name)
            var probe = layer
            let jacobian = try FiniteDifferences.jacobian({ values in
                try probe.setParameter(name, to: Tensor(shape: theta.shape, scalars: values))
                return try probe(x).scalars
            }, at: theta.scalars)
            let v = 2
            let m: Tensor<Double> = data.tensor([v] + theta.shape)
            let jm = try layer.parameterJacobianProduct(m, parameter: name, io: io)
            #expect(jm.shape == [v] + io.output.shape)
            for s in 0..<v {
                let ms = Array(m.scalars[(s * theta.count)..<((s + 1) * theta.count)])
                let expected = jacobian.map { row in zip(row, ms).reduce(0) { $0 + $1.0 * $1.1 } }
                expectClose(Array(jm.scalars[(s * io.output.count)..<((s + 1) * io.output.count)]), expected, Self.tolerance, "\(name)")
            }

            for subsampling in [nil, [1, 0, 0]] as [[Int]?] {
                let samples = subsampling ?? Array(0..<n)
                let u: Tensor<Double> = data.tensor([v, samples.count] + Array(io.output.shape.dropFirst()))
                let perSample = try layer.transposedParameterJacobianProduct(
                    u, parameter: name, io: io, sumOverSamples: false, subsampling: subsampling)
                let summed = try layer.transposedParameterJacobianProduct(
                    u, parameter: name, io: io, sumOverSamples: true, subsampling: subsampling)
                #expect(perSample.shape == [v, samples.count] + theta.shape && summed.shape == [v] + theta.shape)
                var expectedSum = [Double](repeating: 0, count: v * theta.count)
                for s in 0..<v {
                    for (j, sample) in samples.enumerated() {
                        let us = Array(u.scalars[((s * samples.count + j) * outPerSample)..<((s * samples.count + j + 1) * outPerSample)])
                        let expected = (0..<theta.count).map { p in
                            (0..<outPerSample).reduce(0) { $0 + jacobian[sample * outPerSample + $1][p] * us[$1] }
                        }
                        let start = (s * samples.count + j) * theta.count
                        expectClose(Array(perSample.scalars[start..<(start + theta.count)]), expected, Self.tolerance, "\(name) \(String(describing: subsampling))")
                        for p in 0..<theta.count { expectedSum[s * theta.count + p] += expected[p] }
                    }
                }
                expectClose(summed.scalars, expectedSum, Self.tolerance, "\(name) summed")
                // What the forward pass kept (unfolded inputs, window maxima) only saves work.
                let bare = LayerIO(input: io.input, output: io.output)
                #expect(try layer.transposedParameterJacobianProduct(
                    u, parameter: name, io: bare, sumOverSamples: false, subsampling: subsampling) == perSample)
            }
        }
    }

    @Test("wrong shapes and unknown parameters throw errors naming the layer")
    func errors() throws {
        let linear = try Linear<Double>(inFeatures: 3, outFeatures: 2)
        #expect(throws: LayerError.self) { try linear(Tensor(zeros: [4, 5])) }
        let io = try linear.forward(Tensor(zeros: [4, 3]))
        #expect(throws: LayerError.self) { try linear.transposedJacobianProduct(Tensor(zeros: [1, 4, 3]), io: io) }
        #expect(throws: LayerError.unknownParameter(layer: "Linear", name: "gamma")) { try linear.parameter("gamma") }
        #expect(throws: LayerError.unknownParameter(layer: "ReLU", name: "weight")) {
            try ReLU<Double>().transposedParameterJacobianProduct(
                Tensor(zeros: [1, 4, 3]), parameter: "weight", io: io, sumOverSamples: true, subsampling: nil)
        }
        var copy = linear
        #expect(throws: LayerError.shapeMismatch(layer: "Linear", operation: "weight", expected: [2, 3], got: [3, 2])) {
            try copy.setParameter("weight", to: Tensor(zeros: [3, 2]))
        }
        let conv = try Convolution<Double>(inChannels: 2, outChannels: 4, geometry: ConvolutionGeometry(kernelSize: [3, 3], groups: 2))
        #expect(throws: LayerError.self) { try conv(Tensor(zeros: [1, 3, 5, 5])) }
        #expect(String(describing: LayerError.shapeMismatch(layer: "Conv2d", operation: "input", expected: [-1, 2, -1, -1], got: [1, 3, 5, 5])).contains("Conv2d"))
    }
}
