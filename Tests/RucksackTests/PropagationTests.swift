import Rucksack
import RucksackTestSupport
import Synchronization
import Testing

/// An identity layer that counts the columns it propagates, to see how often a propagation runs.
private final class ColumnCounter: Sendable {
    let stacks = Mutex<[Int]>([])
}

private struct CountingIdentity: Layer {
    typealias Scalar = Double
    let counter: ColumnCounter
    var typeName: String { "CountingIdentity" }
    func callAsFunction(_ input: Tensor<Double>) throws -> Tensor<Double> { input }
    func jacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> { m }
    func transposedJacobianProduct(_ m: Tensor<Double>, io: LayerIO<Double>) throws -> Tensor<Double> {
        counter.stacks.withLock { $0.append(m.shape[0]) }
        return m
    }
}

@Suite("propagations")
struct PropagationTests {
    @Test("quantities that propagate the same factor share one propagation; different settings do not")
    func sharing() throws {
        var data = TestData(seed: 90)
        let counter = ColumnCounter()
        let model = Model<Double>(sequential: [
            try Linear(weight: data.tensor([3, 2]), bias: nil), CountingIdentity(counter: counter), try Linear(weight: data.tensor([4, 3]), bias: nil),
        ])
        let input: Tensor<Double> = data.tensor([5, 2])
        let target = LossTarget<Double>.classes(shape: [5], indices: [0, 1, 2, 3, 0])
        _ = try model.compute([DiagGGNExact(), BatchDiagGGNExact(), SqrtGGNExact(), KFLR(), DiagGGNMC(mcSamples: 2), KFAC(mcSamples: 2)],
                              input: input, target: target, loss: CrossEntropyLoss())
        // The gradient (1 column), the exact factor (4 classes) and one Monte Carlo factor (2 draws).
        #expect(counter.stacks.withLock { $0.sorted() } == [1, 2, 4])
        counter.stacks.withLock { $0 = [] }
        _ = try model.compute([DiagGGNMC(mcSamples: 2, seed: 1), KFAC(mcSamples: 2, seed: 2)], input: input, target: target, loss: CrossEntropyLoss())
        #expect(counter.stacks.withLock { $0.sorted() } == [1, 2, 2])
    }

    @Test("second-order quantities a layer cannot provide are refused naming layer and quantity")
    func unsupported() throws {
        let model = Model<Double>(sequential: [try Linear(inFeatures: 2, outFeatures: 2), WholeBatchScale()])
        let input = try Tensor<Double>(repeating: 1, shape: [3, 2])
        let target = LossTarget<Double>.values(try Tensor(zeros: [3, 2]))
        for quantity in [DiagGGNExact<Double>(), BatchDiagHessian(), SqrtGGNMC()] as [any Quantity<Double>] {
            #expect(throws: QuantityError.unsupported(layer: "1 (WholeBatchScale)", quantity: quantity.field,
                                                      reason: "per-sample gradients: the scale couples the samples")) {
                try model.compute([quantity], input: input, target: target, loss: MSELoss())
            }
        }
        let norm = try BatchNorm<Double>(numFeatures: 2, spatialRank: 1)
        let normalized = Model<Double>(sequential: [try Linear(inFeatures: 2, outFeatures: 2), norm])
        let error = #expect(throws: QuantityError.self) { try normalized.compute([KFRA()], input: input, target: target, loss: MSELoss()) }
        guard case let .unsupported(layer, quantity, _)? = error else { Issue.record("expected unsupported, got \(String(describing: error))"); return }
        #expect(layer == "1 (BatchNorm1d)" && quantity == "kfra")
        // KFLR is defined there: the exact GGN block of each batch-norm parameter.
        let results = try normalized.compute([KFLR()], input: input, target: target, loss: MSELoss())
        #expect(results[KFLR(), "1.weight"]?.blocks.map { $0.map(\.shape) } == [[[2, 2]]])
    }

    @Test("KFRA refuses a dense matrix over the memory limit before allocating it, naming the layer and the bytes")
    func kfraSizeGuard() throws {
        var data = TestData(seed: 91)
        // The matrix at the first convolution's output has 576² entries (2.7 MB, three of them 8 MB); the factors are small.
        let padded = try ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1])
        let model = Model<Double>(sequential: [
            try Convolution(geometry: padded, weight: data.tensor([4, 1, 3, 3]), bias: nil), Sigmoid(),
            try Convolution(geometry: padded, weight: data.tensor([1, 4, 3, 3]), bias: nil), Flatten(), try Linear(weight: data.tensor([2, 144]), bias: nil),
        ])
        let input: Tensor<Double> = data.tensor([2, 1, 12, 12])
        let target = LossTarget<Double>.classes(shape: [2], indices: [0, 1])
        MemoryBudget.$limit.withValue(1 << 20) {
            #expect(throws: QuantityError.denseMatrixTooLarge(layer: "2 (Conv2d)", quantity: "kfra", shape: [576, 576], bytes: 3 * 576 * 576 * 8, limit: 1 << 20)) {
                try model.compute([KFRA()], input: input, target: target, loss: CrossEntropyLoss())
            }
        }
        #expect(try model.compute([KFRA()], input: input, target: target, loss: CrossEntropyLoss())[KFRA(), "0.weight"]?.blocks[0].map(\.shape) == [[4, 4], [9, 9]])
        #expect(QuantityError.denseMatrixTooLarge(layer: "0 (Linear)", quantity: "kfra", shape: [600, 600], bytes: 8_640_000, limit: 1 << 20).description
            == "kfra needs dense 600×600 matrices at layer 0 (Linear): 8.6 MB for the three a sandwich holds at once, over the memory limit of 1.0 MB")
    }

    @Test("a merge that fails names the parallel node")
    func mergeErrorNamesNode() throws {
        // Branches whose inputs disagree cannot happen in a model; a propagation whose merge
        // throws shows how the error comes out.
        var data = TestData(seed: 92)
        let model = Model<Double>(.sequential([
            .layer(try Linear(weight: data.tensor([3, 2]), bias: nil)),
            .named("block", .residual([.layer(try Linear(weight: data.tensor([3, 3]), bias: nil))])),
        ]))
        let trace = try model.forward(data.tensor([2, 2]))
        let error = #expect(throws: ModelError.self) {
            _ = try model.backward(trace, from: 0, step: { _, value in value }, merge: { _, _, _ in
                throw TensorError.shapeMismatch(operation: "add", lhs: [1], rhs: [2])
            })
        }
        guard case let .layerFailed(path, type, _)? = error else { Issue.record("expected layerFailed"); return }
        #expect(path == "block" && type == "Parallel")
    }
}
