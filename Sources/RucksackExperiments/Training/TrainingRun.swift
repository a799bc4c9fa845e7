import Foundation
import Rucksack

/// A training run by the HBP paper's protocol (spec §6.1): per epoch a fresh shuffle, one
/// optimizer step per mini-batch, and `logsPerEpoch` log entries (every
/// `max(batches / logsPerEpoch, 1)` steps, after the update) with the batch's loss and accuracy,
/// the loss and accuracy on a fresh random subset of the training set and on the test set.
///
/// Every random draw (initialisation, shuffling, subsets, Monte Carlo samples) follows from the
/// seed, the epoch and the step, so the same settings give the same numbers, and a run resumed
/// from its checkpoint continues the same curve.
public struct TrainingRun: Sendable {
    public var settings: RunSettings

    public init(settings: RunSettings) { self.settings = settings }

    /// Progress within an epoch, for a progress bar.
    public struct Progress: Sendable {
        public var epoch: Int
        public var epochs: Int
        public var step: Int
        public var steps: Int
        public var loss: Float
    }

    /// Files of a run in its folder.
    public static let logFile = "log.csv", weightsFile = "weights.safetensors", checkpointFile = "checkpoint.safetensors"

    /// Trains and returns the log. With a `folder`, every finished epoch is saved to
    /// `checkpoint.safetensors` (and resumed from there) and its weights to `weights.safetensors`
    /// (a state dict, as `rucksack compute` reads), and at the end the log goes to `log.csv`.
    /// The checkpoint stays, so the same settings with more epochs continue the run.
    ///
    /// On several processes (`communicator`, e.g. under `mpirun`) every process draws the same
    /// batches and computes on its slice of each (``DataParallel``); only process 0 evaluates,
    /// logs and writes files, and the others return an empty log. The processes check that they
    /// start from the same settings and checkpoint, and that their weights agree after every epoch.
    public func run(
        train: LabeledImages, test: LabeledImages, folder: URL? = nil, communicator: any Communicator = SingleProcess(),
        progress: (Progress) -> Void = { _ in }, logged: (LogRow) -> Void = { _ in }
    ) throws -> [LogRow] {
        // The number of processes changes HBP's blocks and KFAC's samples: a checkpoint keeps it.
        let identity = settings.identity + (communicator.size > 1 ? " processes \(communicator.size)" : "")
        if communicator.size > 1 { try communicator.requireSameJob(Array(identity.utf8), what: "run settings") }
        let start = ContinuousClock.now
        let train = try settings.trainSize.map { try train.prefix($0) } ?? train
        let test = try settings.testSize.map { try test.prefix($0) } ?? test
        var model = try settings.model.model(
            imageShape: settings.dataSet.imageShape, classes: settings.dataSet.classes, seed: settings.seed, initialization: settings.initialization)
        let parallel = DataParallel(communicator: communicator)
        try parallel.check(samples: train.count, batchSize: settings.batchSize)
        var optimizer = try settings.optimizer.makeStep(seed: settings.seed, parallel: parallel)
        var state = Checkpoint.State()
        let checkpoint = folder.map { $0.appendingPathComponent(Self.checkpointFile) }
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            state = try Checkpoint.restore(from: checkpoint, identity: identity, model: &model, optimizer: &optimizer)
            guard state.epoch <= settings.epochs else {
                throw ExperimentError.invalidCheckpoint(path: checkpoint.path, reason: "it holds \(state.epoch) epochs, more than the \(settings.epochs) asked for")
            }
        }
        if communicator.size > 1 { try communicator.requireSameJob(Self.fingerprint(model, state), what: "checkpoint (epoch and weights)") }
        var rows = state.rows
        for epoch in (state.epoch + 1)..<(settings.epochs + 1) {
            var shuffle = RandomStream(seed: Self.mix(settings.seed, 1, UInt64(epoch)))
            let batches = try train.shuffledBatches(size: settings.batchSize, using: &shuffle)
            let logEvery = max(batches.count / settings.logsPerEpoch, 1)
            var lossSum: Float = 0
            for (index, batch) in batches.enumerated() {
                // The loss of the batch before the step, or of an evaluation after it, may be the first non-finite one.
                var updated = false
                do {
                    let (batchLoss, correct) = try optimizer.step(&model, batch: batch, stepIndex: state.step)
                    (state.step, updated) = (state.step + 1, true)
                    guard batchLoss.isFinite else { throw LossError.nonFinite(loss: "CrossEntropyLoss", value: Double(batchLoss)) }
                    lossSum += batchLoss
                    guard communicator.isRoot else { continue }
                    progress(Progress(epoch: epoch, epochs: settings.epochs, step: index + 1, steps: batches.count, loss: lossSum / Float(index + 1)))
                    guard index % logEvery == 0 else { continue }
                    let subset = try Self.randomSubset(of: train, count: settings.trainEvaluationSize, seed: Self.mix(settings.seed, 2, UInt64(state.step)))
                    let (trainLoss, trainAccuracy) = try Self.evaluate(model, on: subset, batchSize: settings.evaluationBatchSize)
                    let (testLoss, testAccuracy) = try Self.evaluate(model, on: test, batchSize: settings.evaluationBatchSize)
                    let row = LogRow(
                        step: state.step, epoch: Double(epoch - 1) + Double(min((index + 1) * settings.batchSize, train.count)) / Double(train.count),
                        wallSeconds: state.wallSeconds + seconds(since: start), batchLoss: Double(batchLoss),
                        batchAccuracy: Double(correct) / Double(batch.count),
                        trainLoss: trainLoss, trainAccuracy: trainAccuracy, testLoss: testLoss, testAccuracy: testAccuracy)
                    rows.append(row)
                    logged(row)
                } catch LossError.nonFinite {
                    throw ExperimentError.nonFiniteLoss(run: settings.label, epoch: epoch, step: state.step + (updated ? 0 : 1))
                }
            }
            if communicator.size > 1 { try communicator.requireSameJob(Self.fingerprint(model, state), what: "weights after epoch \(epoch)") }
            if let checkpoint, communicator.isRoot {
                let finished = Checkpoint.State(epoch: epoch, step: state.step, wallSeconds: state.wallSeconds + seconds(since: start), rows: rows)
                try Checkpoint.save(finished, identity: identity, model: model, optimizer: optimizer, to: checkpoint)
                try SafeTensors.write(model.state(), to: checkpoint.deletingLastPathComponent().appendingPathComponent(Self.weightsFile))
            }
        }
        guard communicator.isRoot else { return [] }
        if let folder { try RunLog.write(rows, to: folder.appendingPathComponent(Self.logFile)) }
        return rows
    }

    /// Mean cross-entropy and accuracy of `model` on `data`; a non-finite loss is returned as NaN
    /// (the protocol stops on the training loss only, which every process sees).
    public static func evaluate(_ model: Model<Float>, on data: LabeledImages, batchSize: Int) throws -> (loss: Double, accuracy: Double) {
        let summed = CrossEntropyLoss<Float>(reduction: .sum)
        var (loss, correct) = (0.0, 0)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let batch = try data.subset(Array(start..<min(start + batchSize, data.count)))
            let output = try model(batch.images)
            do { loss += Double(try summed.value(output, batch.targets)) } catch LossError.nonFinite { loss = .nan }
            correct += try output.correctPredictions(batch.labels)
        }
        return (loss / Double(max(data.count, 1)), Double(correct) / Double(max(data.count, 1)))
    }

    /// The epoch, the step and the weights' bytes, for the processes to compare.
    static func fingerprint(_ model: Model<Float>, _ state: Checkpoint.State) throws -> [UInt8] {
        var bytes = Array("\(state.epoch) \(state.step)".utf8)
        for name in model.parameterNames { bytes += try model.parameter(name).scalars.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
        return bytes
    }

    /// `count` samples drawn without replacement (all of them, in order, when there are no more).
    static func randomSubset(of data: LabeledImages, count: Int, seed: UInt64) throws -> LabeledImages {
        guard count < data.count else { return data }
        var stream = RandomStream(seed: seed)
        var order = Array(0..<data.count)
        order.shuffle(using: &stream)
        return try data.subset(Array(order.prefix(count)))
    }

    /// A seed for one purpose (`stream`) at one point (`index`) of the run.
    static func mix(_ seed: UInt64, _ stream: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ stream &* 0x9E37_79B9_7F4A_7C15 &+ index &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seconds from `start` to now.
func seconds(since start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).seconds }
