import Foundation
import Rucksack

/// A run's state after a finished epoch in one safetensors file: the model's state dict under
/// `model.`, the optimizer's state under `optimizer.`, and in the metadata the epoch, step,
/// wall-clock seconds, the log so far and the settings it belongs to.
enum Checkpoint {
    struct State {
        var epoch = 0
        var step = 0
        var wallSeconds = 0.0
        var rows: [LogRow] = []
    }

    static func save(_ state: State, identity: String, model: Model<Float>, optimizer: any TrainingStep, to url: URL) throws {
        var file = SafeTensorsFile(metadata: [
            "epoch": String(state.epoch), "step": String(state.step), "wall_seconds": "\(state.wallSeconds)",
            "settings": identity, "log": RunLog.csv(state.rows),
        ])
        let weights = try model.state()
        for name in weights.names { try file.insert(weights[name]!, named: "model." + name) }
        for (name, tensor) in try optimizer.savedState() { try file.insert(ArrayData(tensor), named: "optimizer." + name) }
        try SafeTensors.write(file, to: url)
    }

    /// Throws when a run's folder holds a checkpoint of other settings: its results on disk
    /// are not those of the config any more.
    static func requireSettings(_ identity: String, in url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let recorded = try SafeTensors.read(from: url).metadata["settings"] ?? ""
        guard recorded.hasPrefix(identity) else {
            throw ExperimentError.invalidCheckpoint(
                path: url.path, reason: "the results in this folder were made with other settings (\(recorded)); remove the folder to train with the config's")
        }
    }

    static func restore(from url: URL, identity: String, model: inout Model<Float>, optimizer: inout any TrainingStep) throws -> State {
        let file = try SafeTensors.read(from: url)
        let metadata = file.metadata
        guard metadata["settings"] == identity else {
            throw ExperimentError.invalidCheckpoint(
                path: url.path, reason: "it belongs to other settings (\(metadata["settings"] ?? "none")); remove it to start afresh")
        }
        guard let epoch = metadata["epoch"].flatMap(Int.init), let step = metadata["step"].flatMap(Int.init),
              let wall = metadata["wall_seconds"].flatMap(Double.init), let log = metadata["log"] else {
            throw ExperimentError.invalidCheckpoint(path: url.path, reason: "the metadata lacks epoch, step, wall_seconds or log")
        }
        var weights = SafeTensorsFile(), saved: [String: Tensor<Float>] = [:]
        for name in file.names {
            if name.hasPrefix("model.") {
                try weights.insert(file[name]!, named: String(name.dropFirst("model.".count)))
            } else if name.hasPrefix("optimizer.") {
                saved[String(name.dropFirst("optimizer.".count))] = try file[name]!.tensor(as: Float.self)
            } else {
                throw ExperimentError.invalidCheckpoint(path: url.path, reason: "unexpected tensor '\(name)'")
            }
        }
        try model.loadState(weights)
        try optimizer.restoreState(saved)
        return State(epoch: epoch, step: step, wallSeconds: wall, rows: try RunLog.parse(log, path: url.path + " (metadata 'log')"))
    }
}
