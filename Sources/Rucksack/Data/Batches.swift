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

extension Model where Scalar == Float {
    /// The fraction of `data` whose most likely class is the label.
    public func accuracy(on data: LabeledImages) throws -> Float {
        var correct = 0
        for start in stride(from: 0, to: data.count, by: 256) {
            let batch = try data.subset(Array(start..<min(start + 256, data.count)))
            let predictions = try self(batch.images).argmax(axis: 1).indices
            correct += zip(predictions, batch.labels).filter { $0 == $1 }.count
        }
        return Float(correct) / Float(max(data.count, 1))
    }
}
