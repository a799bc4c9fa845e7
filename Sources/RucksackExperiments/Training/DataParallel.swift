import Rucksack

/// One process's share of data-parallel training: every process draws the same global batch,
/// computes on its contiguous slice of it with the mean loss of the slice, and weights what it
/// contributes by `slice / batch` before the sum over processes. For the mean loss that sum is
/// exactly the global batch's gradient, Kronecker factors and exact GGN or PCH block products
/// (up to rounding); HBP's batch-averaged blocks become the average of the slices' blocks.
struct DataParallel: Sendable {
    let communicator: any Communicator

    /// The slice of `batch` this process computes on, and its weight.
    func slice(_ batch: LabeledImages) throws -> (slice: LabeledImages, weight: Float) {
        let (rank, size) = (communicator.rank, communicator.size)
        guard size > 1 else { return (batch, 1) }
        guard batch.count >= size else {
            throw ExperimentError.invalidSetting(key: "batch_size", reason: "a batch of \(batch.count) cannot be split over \(size) processes")
        }
        let range = (rank * batch.count / size)..<((rank + 1) * batch.count / size)
        return (try batch.subset(Array(range)), Float(range.count) / Float(batch.count))
    }

    /// `Σ_processes weight · tensors`, in one allreduce for all of them.
    func combine(_ tensors: [String: Tensor<Float>], weight: Float) throws -> [String: Tensor<Float>] {
        guard communicator.size > 1 else { return tensors }
        let names = tensors.keys.sorted()
        var buffer = names.flatMap { tensors[$0]!.scalars.map { $0 * weight } }
        try communicator.allreduceSum(&buffer)
        var offset = 0
        var combined: [String: Tensor<Float>] = [:]
        for name in names {
            let tensor = tensors[name]!
            combined[name] = try Tensor(shape: tensor.shape, scalars: Array(buffer[offset..<(offset + tensor.count)]))
            offset += tensor.count
        }
        return combined
    }

    /// The global batch's mean loss and correct predictions from this slice's.
    func combine(loss: Float, correct: Int, weight: Float) throws -> (loss: Float, correct: Int) {
        guard communicator.size > 1 else { return (loss, correct) }
        var values = [Double(loss * weight), Double(correct)]
        try communicator.allreduceSum(&values)
        return (Float(values[0]), Int(values[1].rounded()))
    }
}
