import Rucksack

/// One layer of a zoo network: its model-file entry (`Docs/model-format.md`) and the shape it
/// makes of its input's (`[C, H, W]` or `[features]`, without the batch axis).
enum ZooLayer: Sendable {
    case conv(_ input: Int, _ output: Int, kernel: Int, stride: Int = 1, padding: Int = 0)
    case linear(_ input: Int, _ output: Int)
    case sigmoid, relu, flatten
    case maxPool(kernel: Int, stride: Int)
    case averagePool(kernel: Int)
    /// `ZeroPad2d((left, right, top, bottom))`.
    case zeroPad(left: Int, right: Int, top: Int, bottom: Int)

    var json: String {
        switch self {
        case let .conv(input, output, kernel, stride, padding):
            #"{"type": "Conv2d", "in_channels": \#(input), "out_channels": \#(output), "kernel_size": \#(kernel), "stride": \#(stride), "padding": \#(padding)}"#
        case let .linear(input, output): #"{"type": "Linear", "in_features": \#(input), "out_features": \#(output)}"#
        case .sigmoid: #"{"type": "Sigmoid"}"#
        case .relu: #"{"type": "ReLU"}"#
        case .flatten: #"{"type": "Flatten"}"#
        case let .maxPool(kernel, stride): #"{"type": "MaxPool2d", "kernel_size": \#(kernel), "stride": \#(stride)}"#
        case let .averagePool(kernel): #"{"type": "AvgPool2d", "kernel_size": \#(kernel)}"#
        case let .zeroPad(left, right, top, bottom): #"{"type": "ZeroPad2d", "padding": [\#(left), \#(right), \#(top), \#(bottom)]}"#
        }
    }

    func outputShape(_ shape: [Int]) -> [Int] {
        func window(_ size: Int, _ kernel: Int, _ stride: Int, _ padding: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }
        switch self {
        case let .conv(_, output, kernel, stride, padding):
            return [output] + shape.dropFirst().map { window($0, kernel, stride, padding) }
        case let .linear(_, output): return [output]
        case .sigmoid, .relu: return shape
        case .flatten: return [shape.reduce(1, *)]
        case let .maxPool(kernel, stride): return [shape[0]] + shape.dropFirst().map { window($0, kernel, stride, 0) }
        case let .averagePool(kernel): return [shape[0]] + shape.dropFirst().map { window($0, kernel, kernel, 0) }
        case let .zeroPad(left, right, top, bottom): return [shape[0], shape[1] + top + bottom, shape[2] + left + right]
        }
    }
}
