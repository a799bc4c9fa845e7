import RucksackCore

/// Convolutions and im2col by their textbook definitions, in Float64, one output at a time.
public enum NaiveConvolution {
    /// `torch.nn.functional.convNd(x, w, stride, padding, dilation, groups)` without bias.
    /// `x: [N, C_in, *in]`, `w: [C_out, C_in/G, *k]`.
    public static func convolution(
        _ x: [Double], inputShape: [Int], _ w: [Double], weightShape: [Int], _ g: ConvolutionGeometry
    ) -> (values: [Double], shape: [Int]) {
        let outSize = try! g.outputSize(inputSize: Array(inputShape.dropFirst(2)))
        let (batch, outChannels) = (inputShape[0], weightShape[0])
        let inPerGroup = weightShape[1], outPerGroup = outChannels / g.groups
        let shape = [batch, outChannels] + outSize
        var y = [Double](repeating: 0, count: shape.reduce(1, *))
        for (position, index) in NaiveIndexing.all(shape).enumerated() {
            let (n, co, o) = (index[0], index[1], Array(index.dropFirst(2)))
            let group = co / outPerGroup
            var total = 0.0
            for ci in 0..<inPerGroup {
                for k in NaiveIndexing.all(g.kernelSize) {
                    let i = tap(o, k, g)
                    guard zip(i, inputShape.dropFirst(2)).allSatisfy({ $0 >= 0 && $0 < $1 }) else { continue }
                    let xi = NaiveIndexing.flat([n, group * inPerGroup + ci] + i, in: inputShape)
                    let wi = NaiveIndexing.flat([co, ci] + k, in: weightShape)
                    total += x[xi] * w[wi]
                }
            }
            y[position] = total
        }
        return (y, shape)
    }

    /// `torch.nn.functional.conv_transposeNd(x, w, stride, padding, output_padding, groups, dilation)`
    /// without bias, by scattering every input element. `w: [C_in, C_out/G, *k]`.
    public static func transposedConvolution(
        _ x: [Double], inputShape: [Int], _ w: [Double], weightShape: [Int], _ g: ConvolutionGeometry
    ) -> (values: [Double], shape: [Int]) {
        let outSize = try! g.outputSize(inputSize: Array(inputShape.dropFirst(2)))
        let inPerGroup = inputShape[1] / g.groups, outPerGroup = weightShape[1]
        let shape = [inputShape[0], outPerGroup * g.groups] + outSize
        var y = [Double](repeating: 0, count: shape.reduce(1, *))
        for (position, index) in NaiveIndexing.all(inputShape).enumerated() {
            let (n, ci, i) = (index[0], index[1], Array(index.dropFirst(2)))
            let group = ci / inPerGroup
            for co in 0..<outPerGroup {
                for k in NaiveIndexing.all(g.kernelSize) {
                    let o = tap(i, k, g)
                    guard zip(o, outSize).allSatisfy({ $0 >= 0 && $0 < $1 }) else { continue }
                    let yi = NaiveIndexing.flat([n, group * outPerGroup + co] + o, in: shape)
                    y[yi] += x[position] * w[NaiveIndexing.flat([ci, co] + k, in: weightShape)]
                }
            }
        }
        return (y, shape)
    }

    /// im2col of a (non-transposed) convolution: `[N, C·∏k, L]`.
    public static func unfold(_ x: [Double], inputShape: [Int], _ g: ConvolutionGeometry) -> [Double] {
        let inSize = Array(inputShape.dropFirst(2))
        let outSize = try! g.outputSize(inputSize: inSize)
        let shape = [inputShape[0], inputShape[1]] + g.kernelSize + outSize
        return NaiveIndexing.all(shape).map { index in
            let (n, c) = (index[0], index[1])
            let k = Array(index[2..<(2 + g.spatialRank)]), o = Array(index[(2 + g.spatialRank)...])
            let i = tap(o, k, g)
            guard zip(i, inSize).allSatisfy({ $0 >= 0 && $0 < $1 }) else { return 0 }
            return x[NaiveIndexing.flat([n, c] + i, in: inputShape)]
        }
    }

    /// `position · stride − padding + tap · dilation` per axis: where kernel tap `tap` lands.
    private static func tap(_ position: [Int], _ tap: [Int], _ g: ConvolutionGeometry) -> [Int] {
        var result: [Int] = []
        for axis in position.indices {
            let start: Int = position[axis] * g.stride[axis] - g.paddingBefore[axis]
            result.append(start + tap[axis] * g.dilation[axis])
        }
        return result
    }
}
