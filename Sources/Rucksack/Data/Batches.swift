extension LabeledImages {
    /// The data in shuffled mini-batches of `size` (the last one may be smaller).
    public func shuffledBatches(size: Int, using stream: inout RandomStream) throws -> [LabeledImages] {
        var order = Array(0..<count)
        order.shuffle(using: &stream)
        return try stride(from: 0, to: count, by: max(size, 1)).map { start in
            try subset(Array(order[start..<min(start + size, count)]))
        }
    }

    /// Class-index targets for a loss.
    public var targets: LossTarget<Float> { .classes(shape: [count], indices: labels) }
}

extension Tensor where Scalar == Float {
    /// How many rows of these scores `[N, classes]` have their largest entry at the row's label.
    public func correctPredictions(_ labels: [Int]) throws -> Int {
        zip(try argmax(axis: 1).indices, labels).filter { $0 == $1 }.count
    }
}

extension Model where Scalar == Float {
    /// The fraction of `data` whose most likely class is the label.
    public func accuracy(on data: LabeledImages) throws -> Float {
        var correct = 0
        for start in stride(from: 0, to: data.count, by: 256) {
            let batch = try data.subset(Array(start..<min(start + 256, data.count)))
            correct += try self(batch.images).correctPredictions(batch.labels)
        }
        return Float(correct) / Float(max(data.count, 1))
    }
}
