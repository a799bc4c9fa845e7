import Foundation
import Rucksack
import Testing

@Suite("model files")
struct ModelFileTests {
    static func decode(_ text: String) throws -> Model<Float> {
        try ModelFile.decode(Data(text.utf8))
    }

    @Test("the example of the format documentation builds with PyTorch's names and shapes")
    func documentedExample() throws {
        let model = try Self.decode("""
            {"layers": [{"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
                        {"type": "ReLU"}, {"type": "Flatten"}, {"type": "Linear", "in_features": 2048, "out_features": 10}]}
            """)
        #expect(model.parameterNames == ["0.weight", "0.bias", "3.weight", "3.bias"])
        #expect(try model.parameter("0.weight").shape == [8, 3, 3, 3])
        #expect(try model(Tensor(zeros: [2, 3, 16, 16])).shape == [2, 10])
    }

    @Test("graphs: nested sequences and summed branches, with buffers in the state")
    func graphs() throws {
        let model = try Self.decode("""
            {"layers": [
              {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3], "padding": "same", "bias": false},
              {"type": "Parallel", "branches": [
                {"type": "Sequential", "layers": [{"type": "BatchNorm2d", "num_features": 2}, {"type": "ReLU"},
                                                  {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 1}]},
                {"type": "Identity"}]},
              {"type": "AdaptiveAvgPool2d", "output_size": 1}, {"type": "Flatten"}]}
            """)
        #expect(model.stateNames == [
            "0.weight", "1.0.0.weight", "1.0.0.bias", "1.0.0.running_mean", "1.0.0.running_var",
            "1.0.0.num_batches_tracked", "1.0.2.weight", "1.0.2.bias",
        ])
        #expect(try model(Tensor(zeros: [2, 1, 4, 4])).shape == [2, 2])
        var copy = model
        try copy.loadState(model.state())
    }

    @Test("mistakes name the layer, its type and the key", arguments: [
        (#"{"layers": [{"type": "Linear", "in_features": 2}]}"#, "layer 0 (Linear), key 'out_features'"),
        (#"{"layers": [{"type": "ReLU"}, {"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding_mode": "reflect"}]}"#,
         "layer 1 (Conv2d), key 'padding_mode'"),
        (#"{"layers": [{"type": "Linear", "in_features": 2, "out_features": 3, "bais": false}]}"#, "layer 0 (Linear), key 'bais'"),
        (#"{"layers": [{"type": "Sequential", "layers": [{"type": "Bilinear"}]}]}"#, "layer 0.0 (Bilinear), key 'type'"),
        (#"{"layers": [{"type": "BatchNorm", "num_features": 3}]}"#, "layer 0 (BatchNorm), key 'type': unknown or unsupported layer type"),
        (#"{"layers": [{"type": "MaxPool2d", "kernel_size": 2, "padding": 2}]}"#, "layer 0 (MaxPool2d)"),
        (#"{"layers": [{"type": "Conv1d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": "same"}]}"#,
         "layer 0 (Conv1d), key 'padding'"),
        (#"{"layers": [{"type": "Linear", "in_features": 2, "out_features": true}]}"#, "layer 0 (Linear), key 'out_features'"),
        (#"{"layers": [{"type": "GELU", "approximate": "tanh"}]}"#, "layer 0 (GELU), key 'approximate'"),
        (#"{"layers": [{"type": "BatchNorm1d", "num_features": 3, "track_running_stats": false}]}"#, "layer 0 (BatchNorm1d), key 'track_running_stats'"),
        (#"{"layers": [{"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}]}"#, "layer 0 (Conv2d)"),
        (#"{"layer": []}"#, "model file: unknown top-level key 'layer'"),
        (#"{}"#, "model file: the top level must be an object with a \"layers\" list"),
        (#"{"layers": [}"#, "model file: invalid JSON: expected a value, found character '}' at byte offset 12"),
        (#"{"layers": [{"type": "Linear", "in_features": 2, "out_features": 3.0}]}"#, "layer 0 (Linear), key 'out_features': must be an integer, got 3.0"),
        (#"{"layers": [{"type": "Linear", "in_features": 2, "out_features": 99999999999999999999}]}"#, "layer 0 (Linear), key 'out_features': must be an integer"),
        // Python's json keeps the last of duplicate keys; Rucksack refuses to guess.
        (#"{"layers": [{"type": "Tanh", "type": "Sigmoid"}]}"#, "layer 0 (Tanh), key 'type': appears twice (byte offsets 13 and 29)"),
        (#"{"layers": [], "layers": []}"#, "key 'layers' appears twice at the top level (byte offsets 1 and 15)"),
        (#"{"layers": [{"type": "ReLU", "name": "a"}, {"type": "Tanh", "name": "a"}]}"#, "layer 1 (Tanh), key 'name': 'a' is also the label of child 0"),
        (#"{"layers": [{"type": "ReLU"}, {"type": "Tanh", "name": "0"}]}"#, "layer 1 (Tanh), key 'name': '0' is also the label of child 0"),
        (#"{"layers": [{"type": "Sequential", "layers": [{"type": "ReLU", "name": "x"}, {"type": "ReLU", "name": "x"}]}]}"#,
         "layer 0.1 (ReLU), key 'name': 'x' is also the label of child 0"),
    ])
    func errors(_ text: String, _ expected: String) {
        do {
            _ = try Self.decode(text)
            Issue.record("expected an error containing \(expected)")
        } catch {
            #expect(String(describing: error).contains(expected), "\(error)")
        }
    }

    @Test("weights that do not fit name the entry")
    func stateErrors() throws {
        var model = try Self.decode(#"{"layers": [{"type": "Linear", "in_features": 2, "out_features": 3}]}"#)
        var state = try model.state()
        _ = state.remove(named: "0.bias")
        #expect(throws: StateDictError.missing(name: "0.bias")) { try model.loadState(state) }
        try state.insert(ArrayData(Tensor<Float>(zeros: [3])), named: "0.bias")
        try state.insert(ArrayData(Tensor<Float>(zeros: [3])), named: "1.bias")
        #expect(throws: StateDictError.unexpected(name: "1.bias")) { try model.loadState(state) }
        _ = state.remove(named: "1.bias")
        _ = state.remove(named: "0.weight")
        try state.insert(ArrayData(Tensor<Float>(zeros: [2, 3])), named: "0.weight")
        do {
            try model.loadState(state)
            Issue.record("a wrong weight shape must throw")
        } catch {
            #expect(String(describing: error).contains("'0.weight'") && String(describing: error).contains("[3, 2]"), "\(error)")
        }
    }
}

@Test("named children give torchvision-style parameter names")
func namedChildren() throws {
    let model = try ModelFileTests.decode("""
        {"layers": [
          {"type": "Conv2d", "name": "conv1", "in_channels": 1, "out_channels": 2, "kernel_size": 1},
          {"type": "Sequential", "name": "layer1", "layers": [
            {"type": "Parallel", "branches": [
              {"type": "Sequential", "layers": [{"type": "Conv2d", "name": "conv1", "in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": 1},
                                                {"type": "BatchNorm2d", "name": "bn1", "num_features": 2}]},
              {"type": "Identity"}]}]},
          {"type": "Flatten"}]}
        """)
    #expect(model.stateNames == [
        "conv1.weight", "conv1.bias", "layer1.0.0.conv1.weight", "layer1.0.0.conv1.bias", "layer1.0.0.bn1.weight",
        "layer1.0.0.bn1.bias", "layer1.0.0.bn1.running_mean", "layer1.0.0.bn1.running_var", "layer1.0.0.bn1.num_batches_tracked",
    ])
    var copy = model
    try copy.setParameter("layer1.0.0.conv1.weight", to: Tensor(repeating: 0.5, shape: [2, 2, 3, 3]))
    #expect(try copy.parameter("layer1.0.0.conv1.weight").scalars.allSatisfy { $0 == 0.5 })
    #expect(throws: ModelError.unknownParameter(name: "layer2.conv1.weight")) { try copy.setParameter("layer2.conv1.weight", to: Tensor(zeros: [1])) }
    try copy.loadState(model.state())
    let input = try Tensor<Float>(repeating: 1, shape: [2, 1, 3, 3])
    let results = try model.gradient(input, .values(Tensor(zeros: [2, 18])), loss: MSELoss())
    #expect(Set(results.gradients.keys) == Set(model.parameterNames))
    #expect(throws: ModelFileError.self) {
        try ModelFileTests.decode(#"{"layers": [{"type": "ReLU", "name": "a.b"}]}"#)
    }
}
