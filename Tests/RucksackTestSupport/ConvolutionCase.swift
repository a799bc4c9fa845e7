import RucksackCore

/// A random convolution problem: geometry, input shape and weight shape.
public struct ConvolutionCase: CustomStringConvertible, Sendable {
    public var geometry: ConvolutionGeometry
    public var inputShape: [Int]
    public var weightShape: [Int]

    public var description: String {
        "kernel \(geometry.kernelSize) stride \(geometry.stride) padding \(geometry.paddingBefore)/\(geometry.paddingAfter) "
            + "dilation \(geometry.dilation) groups \(geometry.groups) outputPadding \(geometry.outputPadding) "
            + "transposed \(geometry.transposed) input \(inputShape)"
    }

    /// A random geometry of `rank` (default: random, 1 to 3) spatial axes with a small input that it fits.
    public static func random(_ data: inout TestData, transposed: Bool, rank: Int? = nil) -> ConvolutionCase {
        let rank = rank ?? data.integer(1...3)
        let kernel = data.shape(rank: rank, extents: 1...3)
        let stride = data.shape(rank: rank, extents: 1...3)
        let dilation = data.shape(rank: rank, extents: 1...2)
        let groups = data.integer(1...3)
        let inPerGroup = data.integer(1...2), outPerGroup = data.integer(1...2)
        let batch = data.integer(0...6) == 0 ? 0 : data.integer(1...2)
        let size = (0..<rank).map { dilation[$0] * (kernel[$0] - 1) + data.integer(1...(rank == 3 ? 2 : 4)) }
        var padding = data.shape(rank: rank, extents: 0...2)
        let inputShape = [batch, inPerGroup * groups] + size
        if transposed {
            let outputPadding = (0..<rank).map { data.integer(0...(max(stride[$0], dilation[$0]) - 1)) }
            for axis in 0..<rank {
                let bare = (size[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + outputPadding[axis] + 1
                padding[axis] = min(padding[axis], (bare - 1) / 2)
            }
            let geometry = try! ConvolutionGeometry(
                kernelSize: kernel, stride: stride, padding: padding, dilation: dilation, groups: groups,
                transposed: true, outputPadding: outputPadding)
            return ConvolutionCase(geometry: geometry, inputShape: inputShape, weightShape: [inPerGroup * groups, outPerGroup] + kernel)
        }
        let geometry = try! ConvolutionGeometry(
            kernelSize: kernel, stride: stride, padding: padding,
            paddingAfter: data.shape(rank: rank, extents: 0...2), dilation: dilation, groups: groups)
        return ConvolutionCase(geometry: geometry, inputShape: inputShape, weightShape: [outPerGroup * groups, inPerGroup] + kernel)
    }
}

