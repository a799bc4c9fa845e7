import Foundation
import Rucksack
import RucksackTestSupport
import Testing

/// Model files with huge, overflowing and negative sizes in every layer's integer arguments:
/// each loads and runs, or fails with an error naming the layer, never a trap, and nothing
/// larger than the memory limit is allocated (the suite runs them all in one process).
@Suite("hostile sizes in model files")
struct HostileModelFileTests {
    struct Case: CustomStringConvertible, Sendable {
        var type: String
        var arguments: [String: Int]
        var inputShape: [Int]
        /// The arguments that size parameters, which the error must name.
        var sizeKeys: Set<String> = []
        /// For pooling: `ceil_mode`, whose rounding up is another place to overflow.
        var ceilMode = false
        var description: String { type + (ceilMode ? " with ceil_mode" : "") }
    }

    static let cases: [Case] = [
        Case(type: "Linear", arguments: ["in_features": 3, "out_features": 2], inputShape: [1, 3], sizeKeys: ["in_features", "out_features"]),
        Case(type: "Conv1d", arguments: ["in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1],
             inputShape: [1, 1, 8], sizeKeys: ["in_channels", "out_channels", "kernel_size"]),
        Case(type: "Conv2d", arguments: ["in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1, "groups": 1],
             inputShape: [1, 1, 8, 8], sizeKeys: ["in_channels", "out_channels", "kernel_size"]),
        Case(type: "ConvTranspose2d", arguments: ["in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1, "output_padding": 0],
             inputShape: [1, 1, 8, 8], sizeKeys: ["in_channels", "out_channels", "kernel_size"]),
        Case(type: "Conv3d", arguments: ["in_channels": 1, "out_channels": 1, "kernel_size": 2, "stride": 1, "padding": 0, "dilation": 1],
             inputShape: [1, 1, 4, 4, 4], sizeKeys: ["in_channels", "out_channels", "kernel_size"]),
        Case(type: "MaxPool2d", arguments: ["kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1], inputShape: [1, 1, 8, 8]),
        Case(type: "MaxPool1d", arguments: ["kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1], inputShape: [1, 1, 8], ceilMode: true),
        Case(type: "AvgPool2d", arguments: ["kernel_size": 2, "stride": 2, "padding": 0], inputShape: [1, 1, 8, 8]),
        Case(type: "AvgPool3d", arguments: ["kernel_size": 2, "stride": 2, "padding": 0], inputShape: [1, 1, 4, 4, 4], ceilMode: true),
        Case(type: "AdaptiveAvgPool2d", arguments: ["output_size": 2], inputShape: [1, 1, 8, 8]),
        Case(type: "ZeroPad2d", arguments: ["padding": 1], inputShape: [1, 1, 8, 8]),
        Case(type: "ConstantPad1d", arguments: ["padding": 1, "value": 0], inputShape: [1, 1, 8]),
        Case(type: "BatchNorm1d", arguments: ["num_features": 3], inputShape: [2, 3], sizeKeys: ["num_features"]),
        Case(type: "Flatten", arguments: ["start_dim": 1, "end_dim": -1], inputShape: [2, 3, 4]),
    ]

    static let hostileValues = [100_000_000, 1_000_000_000_000, 1 << 62, Int.max, -1, -1_000_000_000_000, Int.min]

    static func json(_ type: String, _ arguments: [String: Int], ceilMode: Bool = false) -> String {
        let fields = arguments.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\": \($0.value)" } + (ceilMode ? [#""ceil_mode": true"#] : [])
        return #"{"layers": [{"type": "\#(type)""# + fields.map { ", " + $0 }.joined() + "}]}"
    }

    @Test("every integer argument at huge, overflowing and negative values", arguments: cases)
    func hostileArguments(_ hostile: Case) throws {
        // The weights a user has: those of the valid model.
        let valid: Model<Float> = try ModelFile.decode(Data(Self.json(hostile.type, hostile.arguments, ceilMode: hostile.ceilMode).utf8))
        let state = try valid.state()
        let shapes = Dictionary(uniqueKeysWithValues: state.names.map { ($0, state[$0]!.shape) })
        var refused = 0
        // Within a 64 MB limit, work that a huge size would cause is refused, not done.
        MemoryBudget.$limit.withValue(64 << 20) {
            for key in hostile.arguments.keys.sorted() {
                for value in Self.hostileValues {
                    var arguments = hostile.arguments
                    arguments[key] = value
                    do {
                        let model: Model<Float> = try ModelFile.decode(Data(Self.json(hostile.type, arguments, ceilMode: hostile.ceilMode).utf8), parameterShapes: shapes)
                        _ = try model(Tensor(repeating: 1, shape: hostile.inputShape))
                    } catch {
                        refused += 1
                        let message = "\(error)"
                        #expect(message.contains("layer 0 (\(hostile.type))"), "\(key) = \(value): \(message)")
                        if hostile.sizeKeys.contains(key) { #expect(message.contains(key), "\(key) = \(value): \(message)") }
                    }
                }
            }
        }
        #expect(refused >= hostile.arguments.count * 3, "most hostile values must be refused")
    }

    @Test("nesting deeper than the limit is refused, stating the limit; a file at the limit loads")
    func depth() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: #"{"type": "Sequential", "layers": ["#, count: depth) + #"{"type": "ReLU"}"#
                + String(repeating: "]}", count: depth)
        }
        // Two JSON levels per container, plus the top-level object and its list.
        let deepest = (ModelFile.maximumDepth - 2) / 2
        let model: Model<Float> = try ModelFile.decode(Data(#"{"layers": [\#(nested(deepest - 1))]}"#.utf8))
        #expect(try model(Tensor(repeating: -1, shape: [1, 2])) == Tensor(zeros: [1, 2]))
        do {
            let _: Model<Float> = try ModelFile.decode(Data(#"{"layers": [\#(nested(deepest + 1))]}"#.utf8))
            Issue.record("a model file nested past the limit loaded")
        } catch let ModelFileError.invalidJSON(offset, reason) {
            #expect(reason == "invalid JSON: nested deeper than \(ModelFile.maximumDepth) levels")
            #expect(offset > 0)
        }
    }

    @Test("quantities whose results exceed the memory limit are refused before the pass")
    func resultsOverBudget() throws {
        let model = Model<Float>(sequential: [try Linear(inFeatures: 8, outFeatures: 4)])
        let input = try Tensor<Float>(repeating: 1, shape: [600, 8])
        let target = LossTarget<Float>.classes(shape: [600], indices: [Int](repeating: 1, count: 600))
        // batch_dot: 600² per parameter tensor, 2.9 MB in all; the limit is 1 MB.
        try MemoryBudget.$limit.withValue(1 << 20) {
            #expect(throws: QuantityError.exceedsMemoryLimit(quantity: "batch_dot", batchSize: 600, bytes: 600 * 600 * 2 * 4 + 600 * 32 * 4, limit: 1 << 20)) {
                try model.compute([BatchDot()], input: input, target: target, loss: CrossEntropyLoss())
            }
            // Sub-sampling shrinks it below the limit.
            let results = try model.compute([BatchDot(subsampling: Array(0..<100))], input: input, target: target, loss: CrossEntropyLoss())
            #expect(results[BatchDot(subsampling: Array(0..<100)), "0.weight"]?.shape == [100, 100])
        }
    }

    @Test("GGN square roots over the memory limit are refused before the backward pass, with a column per output feature")
    func squareRootsOverBudget() throws {
        let model = Model<Float>(sequential: [try Linear(inFeatures: 8, outFeatures: 40)])
        let input = try Tensor<Float>(repeating: 1, shape: [600, 8])
        let target = LossTarget<Float>.classes(shape: [600], indices: [Int](repeating: 1, count: 600))
        let parameters = 40 * 8 + 40
        try MemoryBudget.$limit.withValue(8 << 20) {
            // [40 columns, 600 samples, θ]: 34.6 MB, though θ alone is small and the pass fits.
            #expect(throws: QuantityError.exceedsMemoryLimit(quantity: "sqrt_ggn_exact", batchSize: 600, bytes: 40 * 600 * parameters * 4, limit: 8 << 20)) {
                try model.compute([SqrtGGNExact()], input: input, target: target, loss: CrossEntropyLoss())
            }
            #expect(throws: QuantityError.exceedsMemoryLimit(quantity: "sqrt_ggn_mc", batchSize: 600, bytes: 64 * 600 * parameters * 4, limit: 8 << 20)) {
                try model.compute([SqrtGGNMC(mcSamples: 64)], input: input, target: target, loss: CrossEntropyLoss())
            }
            let results = try model.compute([SqrtGGNExact(subsampling: Array(0..<10))], input: input, target: target, loss: CrossEntropyLoss())
            #expect(results[SqrtGGNExact(subsampling: Array(0..<10)), "0.weight"]?.shape == [40, 10, 40, 8])
        }
    }
}
