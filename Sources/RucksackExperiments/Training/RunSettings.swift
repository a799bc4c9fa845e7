import Rucksack

/// Everything that decides a training run, so that the same settings give the same run.
public struct RunSettings: Sendable, Equatable {
    /// The run's name in plots and its folder's name (see ``folderName``).
    public var label: String
    public var dataSet: DataSet
    public var model: ZooModel
    /// `nil`: the network's own (``ZooModel/defaultInitialization``).
    public var initialization: ZooInitialization?
    public var optimizer: OptimizerSettings
    public var batchSize: Int
    public var epochs: Int
    public var seed: UInt64
    /// Train on the first this many training samples; `nil`: all.
    public var trainSize: Int?
    /// Evaluate on the first this many test samples; `nil`: the full test set (the paper's protocol).
    public var testSize: Int?
    /// Each log's training loss and accuracy are measured on a fresh random subset of this many
    /// training samples (DeepOBS' 10 000), or on all of them when there are fewer.
    public var trainEvaluationSize: Int
    public var logsPerEpoch: Int
    /// Batch size of the evaluation passes; only memory and speed depend on it.
    public var evaluationBatchSize: Int

    public init(
        label: String, dataSet: DataSet, model: ZooModel, initialization: ZooInitialization? = nil, optimizer: OptimizerSettings,
        batchSize: Int, epochs: Int, seed: UInt64, trainSize: Int? = nil, testSize: Int? = nil, trainEvaluationSize: Int = 10_000,
        logsPerEpoch: Int = 1, evaluationBatchSize: Int = 500
    ) throws {
        for (key, value) in [("batch_size", batchSize), ("epochs", epochs), ("train_evaluation_size", trainEvaluationSize),
                             ("logs_per_epoch", logsPerEpoch), ("evaluation_batch_size", evaluationBatchSize), ("train_size", trainSize ?? 1),
                             ("test_size", testSize ?? 1)] where value < 1 {
            throw ExperimentError.invalidSetting(key: key, reason: "must be at least 1, got \(value)")
        }
        guard !label.isEmpty else { throw ExperimentError.invalidSetting(key: "label", reason: "must not be empty") }
        (self.label, self.dataSet, self.model, self.initialization, self.optimizer) = (label, dataSet, model, initialization, optimizer)
        (self.batchSize, self.epochs, self.seed, self.trainSize, self.testSize) = (batchSize, epochs, seed, trainSize, testSize)
        (self.trainEvaluationSize, self.logsPerEpoch, self.evaluationBatchSize) = (trainEvaluationSize, logsPerEpoch, evaluationBatchSize)
    }

    /// The label as a folder name: lower-case letters, digits, `.` and `-` (`CG, 1 block` → `cg-1-block`).
    public var folderName: String {
        var name = ""
        for character in label.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber || character == "." {
                name.append(character)
            } else if !name.isEmpty, name.last != "-" {
                name.append("-")
            }
        }
        while name.last == "-" { name.removeLast() }
        return name.isEmpty ? "run" : name
    }

    /// What decides the numbers of the run, compared when resuming (the number of epochs may grow).
    var identity: String {
        "\(dataSet.rawValue) \(model.rawValue) \((initialization ?? model.defaultInitialization).rawValue) \(optimizer) batch \(batchSize) seed \(seed) "
            + "train \(trainSize.map(String.init) ?? "all") test \(testSize.map(String.init) ?? "all") evaluation \(trainEvaluationSize) logs \(logsPerEpoch)"
    }
}
