@testable import Rucksack
import RucksackTestSupport
import Testing

@Suite("Winograd convolution layers")
struct WinogradLayerTests {
    @Test("layers that qualify take Winograd's path, and in Float stay within rounding of Float64")
    func floatAgainstDouble() throws {
        var data = TestData(seed: 5)
        let geometry = try ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1])
        let channels = Convolution<Float>.winogradMinimumChannels
        let (w, b): (Tensor<Double>, Tensor<Double>) = (data.tensor([channels + 8, channels, 3, 3]), data.tensor([channels + 8]))
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
