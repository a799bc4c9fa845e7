@testable import Rucksack
import RucksackTestSupport
import Testing

@Suite("Winograd convolution layers")
struct WinogradLayerTests {
    @Test("layers that qualify take Winograd's path, and in Float stay within rounding of Float64", arguments: [3, 5])
    func floatAgainstDouble(kernel r: Int) throws {
        var data = TestData(seed: 5)
        let geometry = try ConvolutionGeometry(kernelSize: [r, r], padding: [r / 2, r / 2])
        let channels = Convolution<Float>.winogradMinimumChannels
        let (w, b): (Tensor<Double>, Tensor<Double>) = (data.tensor([channels + 8, channels, r, r]), data.tensor([channels + 8]))
        let x: Tensor<Double> = data.tensor([3, channels, 9, 8]), u: Tensor<Double> = data.tensor([2, 3, channels + 8, 9, 8])
        func single(_ t: Tensor<Double>) throws -> Tensor<Float> { try Tensor(shape: t.shape, scalars: t.scalars.map(Float.init)) }
        let exact = try Convolution(geometry: geometry, weight: w, bias: b)
        let fast = try Convolution(geometry: geometry, weight: single(w), bias: single(b))
        #expect(exact.winogradPadding != nil && fast.winogradPadding != nil)
        let (io, ioFloat) = (try exact.forward(x), try fast.forward(single(x)))
        let reference = NaiveConvolution.convolution(x.scalars, inputShape: x.shape, w.scalars, weightShape: w.shape, geometry)
        expectClose(try (io.output - b.reshaped([-1, 1, 1])).scalars, reference.values, Tolerance.unitScale(Double.self), "Float64 forward")
        let tolerance = Tolerance.unitScale(Float.self)
        expectClose(ioFloat.output.scalars, io.output.scalars, tolerance, "forward")
        expectClose(try fast.transposedJacobianProduct(single(u), io: ioFloat).scalars,
                    try exact.transposedJacobianProduct(u, io: io).scalars, tolerance, "transposed Jacobian product")
        let m = try u.sliced(axis: 2, range: 0..<channels)
        expectClose(try fast.jacobianProduct(single(m), io: ioFloat).scalars, try exact.jacobianProduct(m, io: io).scalars, tolerance, "Jacobian product")
    }
}

extension WinogradLayerTests {
    @Test("per-sample, summed and sub-sampled weight gradients equal the products with the unfolded input", arguments: [3, 5])
    func weightGradients(kernel r: Int) throws {
        var data = TestData(seed: 6)
        let geometry = try ConvolutionGeometry(kernelSize: [r, r], padding: [r / 2, r / 2])
        let (c, k) = (Convolution<Double>.winogradMinimumChannels, Convolution<Double>.winogradMinimumChannels + 1)
        // 16 × 16 output positions: per-sample gradients by Winograd's algorithm too.
        let x: Tensor<Double> = data.tensor([3, c, 16, 16])
        let layer = try Convolution<Double>(geometry: geometry, weight: data.tensor([k, c, r, r]), bias: nil)
        #expect(layer.winogradPadding != nil && 16 * 16 >= Convolution<Double>.winogradPerSamplePositions)
        let io = try layer.forward(x)
        let columns = try x.unfolded(geometry)
        for (subsampling, stack) in [(nil, 2), ([2, 0], 2), (nil, 1)] as [([Int]?, Int)] {
            let samples = subsampling?.count ?? 3
            let m: Tensor<Double> = data.tensor([stack, samples, k, 16, 16])
            let expected = try Einsum.evaluate("vnol,nkl->vnok", m.reshaped([stack, samples, k, 256]), columns.samples(subsampling))
                .reshaped([stack, samples, k, c, r, r])
            let perSample = try layer.transposedParameterJacobianProduct(m, parameter: "weight", io: io, sumOverSamples: false, subsampling: subsampling)
            let summed = try layer.transposedParameterJacobianProduct(m, parameter: "weight", io: io, sumOverSamples: true, subsampling: subsampling)
            let tolerance = Tolerance.unitScale(Double.self).times(10)
            expectClose(perSample.scalars, expected.scalars, tolerance, "per sample, \(String(describing: subsampling)), \(stack)")
            expectClose(summed.scalars, try expected.sum(axes: [1]).scalars, tolerance, "summed, \(String(describing: subsampling)), \(stack)")
        }
    }
}
