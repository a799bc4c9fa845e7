import Rucksack

/// One process's share of data-parallel training: every process draws the same global batch,
/// computes on its contiguous slice of it with the mean loss of the slice, and weights what it
/// contributes by `slice / batch` before the sum over processes. For the mean loss that sum is
/// exactly the global batch's gradient, Kronecker factors and exact GGN or PCH block products
/// (up to rounding); HBP's batch-averaged blocks become the average of the slices' blocks.
struct DataParallel: Sendable {
    let communicator: any Communicator

    /// Refuses a batch size whose batches (the last one included) cannot give every process a sample.
    func check(samples: Int, batchSize: Int) throws {
        let last = samples % batchSize == 0 ? min(batchSize, samples) : samples % batchSize
        guard last >= communicator.size || communicator.size == 1 else {
            throw ExperimentError.invalidSetting(
                key: "batch_size", reason: "\(samples) samples in batches of \(batchSize) leave a last batch of \(last), fewer than the \(communicator.size) processes")
        }
    }

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
        let sums = try communicator.allreduceSum(named: tensors.mapValues { $0.scalars.map { $0 * weight } })
        return try Dictionary(uniqueKeysWithValues: tensors.map { name, tensor in (name, try Tensor(shape: tensor.shape, scalars: sums[name]!)) })
    }

    /// The global batch's mean loss and correct predictions from this slice's.
    func combine(loss: Float, correct: Int, weight: Float) throws -> (loss: Float, correct: Int) {
        guard communicator.size > 1 else { return (loss, correct) }
        var values = [Double(loss * weight), Double(correct)]
        try communicator.allreduceSum(&values)
        return (Float(values[0]), Int(values[1].rounded()))
    }
}
