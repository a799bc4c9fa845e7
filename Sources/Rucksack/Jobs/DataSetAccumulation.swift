import Foundation

/// One pass over a whole data set that accumulates what `rucksack accumulate` writes, on one
/// process or sharded over the processes of a `Communicator` (MPI), with the same result up to
/// the order of summation.
///
/// The data set is cut into global batches of `batchSize` samples, in order; process `r` of `K`
/// takes the batches `b` with `b mod K = r`, so that no sample is seen twice and every batch is
/// the same whatever `K` is (Monte Carlo draws are seeded per batch). Each process sums its
/// batches' raw (sum-reduction) contributions; one allreduce adds them over processes, and the
/// loss's reduction is applied at the end with the data set's size: `mean` is the mean over the
/// whole data set. The variance comes from the merged first and second moments and the sample
/// count, never from averaged variances.
public struct DataSetAccumulation<Scalar: TensorScalar>: Sendable {
    /// What can be accumulated, by its `compute` name.
    public enum Field: String, Sendable, CaseIterable {
        case loss, grad
        case sumGradSquared = "sum_grad_squared"
        case variance
        case diagGGNExact = "diag_ggn_exact"
        case diagGGNMC = "diag_ggn_mc"
        case kfac, kflr
        case batchL2 = "batch_l2"
    }

    public var model: Model<Scalar>
    public var loss: LossKind
    public var reduction: Reduction
    public var fields: [Field]
    public var batchSize: Int
    public var mcSamples: Int
    public var seed: UInt64

    public init(model: Model<Scalar>, loss: LossKind, reduction: Reduction, fields: [Field], batchSize: Int, mcSamples: Int = 1, seed: UInt64 = 0) {
        (self.model, self.loss, self.reduction, self.fields, self.batchSize, self.mcSamples, self.seed) = (model, loss, reduction, fields, batchSize, mcSamples, seed)
    }

    /// The global batches of a data set of `count` samples: sample ranges in data-set order.
    public func batches(count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: max(batchSize, 1)).map { $0..<min($0 + batchSize, count) }
    }

    /// Accumulates over `count` samples in batches of `batchSize`; `batch(range)` gives the input
    /// and target of those samples. Every process returns the same file: `loss`,
    /// `<param>.<field>` (factor lists as `<param>.kfac.<i>`), `<param>.batch_l2` with one entry
    /// per sample in data-set order.
    public func run(count: Int, communicator: any Communicator, batch: (Range<Int>) throws -> (Tensor<Scalar>, LossTarget<Scalar>)) throws -> SafeTensorsFile {
        let ranges = batches(count: count)
        guard ranges.count >= communicator.size else {
            throw ComputeError.batch(
                reason: "\(count) samples in batches of \(batchSize) make \(ranges.count) batches, fewer than the \(communicator.size) processes; lower --batch-size")
        }
        return try run(batches: ranges.count, communicator: communicator) { try batch(ranges[$0]) }
    }

    /// Accumulates over a data set given as `batches` batches in data-set order (batch files, for
    /// example); `batch(index)` reads one. The data set's size is the sum of the batches' sizes.
    public func run(batches: Int, communicator: any Communicator, batch: (Int) throws -> (Tensor<Scalar>, LossTarget<Scalar>)) throws -> SafeTensorsFile {
        guard batches >= communicator.size else {
            throw ComputeError.batch(reason: "\(batches) batches are fewer than the \(communicator.size) processes")
        }
        var sums = AccumulatedSums()
        var norms: [(batch: Int, values: [Scalar])] = []
        let names = model.parameterNames
        let summed = loss.make(reduction: .sum, as: Scalar.self)
        var localSamples = 0
        for index in stride(from: communicator.rank, to: batches, by: communicator.size) {
            let (input, target) = try batch(index)
            let samples = input.shape.first ?? 0
            localSamples += samples
            let batchSeed = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            let (kfac, kflr) = (KFAC<Scalar>(mcSamples: mcSamples, seed: batchSeed), KFLR<Scalar>())
            let tensors: [(Field, any Quantity<Scalar>)] = [
                (.sumGradSquared, SumGradSquared<Scalar>()), (.diagGGNExact, DiagGGNExact<Scalar>()),
                (.diagGGNMC, DiagGGNMC<Scalar>(mcSamples: mcSamples, seed: batchSeed)), (.batchL2, BatchL2Grad<Scalar>()),
            ].filter { needs($0.0) }
            let results = try model.compute(tensors.map(\.1) + (needs(.kfac) ? [kfac] : []) + (needs(.kflr) ? [kflr] : []),
                                            input: input, target: target, loss: summed)
            sums.add("loss", [Double(results.loss)], shape: [])
            if sums.perSample == nil { sums.perSample = Self.termsPerSample(loss, output: results.output) }
            for name in names {
                let gradient = results.gradients[name]!
                sums.add(name + ".grad", gradient.doubles, shape: gradient.shape)
                for (field, quantity) in tensors {
                    let value = results.namedTensors(of: quantity, parameter: name)![0].tensor
                    if field == .batchL2 { norms.append((index, value.scalars)) } else { sums.add("\(name).\(field.rawValue)", value.doubles, shape: value.shape) }
                }
                for (field, factors) in [(Field.kfac, needs(.kfac) ? results[kfac, name] : nil), (.kflr, needs(.kflr) ? results[kflr, name] : nil)] {
                    var flat = 0
                    for block in factors?.blocks ?? [] {
                        for (position, factor) in block.enumerated() {
                            // A two-factor block's second factor (the input side) is averaged over the batch: weight it by the samples to merge.
                            let key = "\(name).\(field.rawValue).\(flat)", averaged = block.count == 2 && position == 1
                            if averaged { sums.sampleAveraged.insert(key) }
                            sums.add(key, (averaged ? factor * Scalar(samples) : factor).doubles, shape: factor.shape)
                            flat += 1
                        }
                    }
                }
            }
        }
        try sums.allreduce(communicator)
        let count = Int(try communicator.sum(Double(localSamples)))
        let rho = reduction == .mean ? 1 / (Double(count) * Double(sums.perSample ?? 1)) : 1
        var file = SafeTensorsFile()
        func put(_ name: String, _ values: [Double], _ shape: [Int]) throws {
            try file.insert(ArrayData(try Tensor<Scalar>(shape: shape, scalars: values.map { Scalar($0) })), named: name)
        }
        if fields.contains(.loss) { try put("loss", sums["loss"].map { $0 * rho }, []) }
        let n = Double(count)
        for name in names {
            let (first, shape) = (sums[name + ".grad"], sums.shapes[name + ".grad"]!)
            if fields.contains(.grad) { try put(name + ".grad", first.map { $0 * rho }, shape) }
            let second = sums["\(name).sum_grad_squared"]
            if fields.contains(.sumGradSquared) { try put("\(name).sum_grad_squared", second.map { $0 * rho * rho }, shape) }
            if fields.contains(.variance) {
                try put("\(name).variance", zip(first, second).map { rho * rho * ($1 / n - ($0 / n) * ($0 / n)) }, shape)
            }
            for field in [Field.diagGGNExact, .diagGGNMC] where fields.contains(field) {
                try put("\(name).\(field.rawValue)", sums["\(name).\(field.rawValue)"].map { $0 * rho }, shape)
            }
            for field in [Field.kfac, .kflr] where fields.contains(field) {
                for key in sums.keys(prefix: "\(name).\(field.rawValue).") {
                    let averaged = sums.sampleAveraged.contains(key)
                    try put(key, sums[key].map { averaged ? $0 / n : $0 * rho }, sums.shapes[key]!)
                }
            }
            if fields.contains(.batchL2) {
                try put(name + ".batch_l2", try gatherNorms(norms, parameterIndex: names.firstIndex(of: name)!, parameters: names.count, communicator).map { $0 * rho * rho }, [count])
            }
        }
        return file
    }

    /// Whether a batch's pass must compute what `field` is made from.
    private func needs(_ field: Field) -> Bool {
        fields.contains(field) || (field == .sumGradSquared && fields.contains(.variance))
    }

    /// The loss's terms per sample: a `mean` divides by the samples times this.
    private static func termsPerSample(_ loss: LossKind, output: Tensor<Scalar>) -> Int {
        let samples = max(output.shape.first ?? 1, 1)
        let perSample = output.count / samples
        return loss == .crossEntropy ? perSample / max(output.shape.count > 1 ? output.shape[1] : 1, 1) : perSample
    }

    /// Every process's per-sample squared norms of one parameter, in data-set order.
    private func gatherNorms(_ norms: [(batch: Int, values: [Scalar])], parameterIndex: Int, parameters: Int, _ communicator: any Communicator) throws -> [Double] {
        // Each batch contributes one entry per parameter, in parameter order.
        let own = norms.enumerated().filter { $0.offset % parameters == parameterIndex }.map(\.element)
        var bytes: [UInt8] = []
        for (batch, values) in own {
            withUnsafeBytes(of: Int64(batch).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: Int64(values.count).littleEndian) { bytes += $0 }
            for value in values { withUnsafeBytes(of: Double(value).bitPattern.littleEndian) { bytes += $0 } }
        }
        var byBatch: [Int: [Double]] = [:]
        for chunk in try communicator.allgather(bytes) {
            var offset = 0
            func next() -> UInt64 {
                defer { offset += 8 }
                return chunk[offset..<(offset + 8)].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            }
            while offset < chunk.count {
                let batch = Int(next()), count = Int(next())
                byBatch[batch] = (0..<count).map { _ in Double(bitPattern: next()) }
            }
        }
        return byBatch.keys.sorted().flatMap { byBatch[$0]! }
    }
}

/// Running sums of named tensors in Float64, added over processes in one allreduce.
private struct AccumulatedSums {
    var values: [String: [Double]] = [:]
    var shapes: [String: [Int]] = [:]
    var sampleAveraged: Set<String> = []
    var perSample: Int?

    subscript(name: String) -> [Double] { values[name] ?? [] }

    mutating func add(_ name: String, _ addend: [Double], shape: [Int]) {
        guard var current = values[name] else { (values[name], shapes[name]) = (addend, shape); return }
        for index in current.indices { current[index] += addend[index] }
        values[name] = current
    }

    func keys(prefix: String) -> [String] {
        values.keys.filter { $0.hasPrefix(prefix) }.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
    }

    /// Adds every sum over processes, in one allreduce.
    mutating func allreduce(_ communicator: any Communicator) throws {
        guard communicator.size > 1 else { return }
        values = try communicator.allreduceSum(named: values)
    }
}

extension Tensor {
    /// The scalars as `Double`s.
    var doubles: [Double] { scalars.map { Double($0) } }
}
