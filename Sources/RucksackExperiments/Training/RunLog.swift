import Foundation
import Rucksack

/// One log entry of a run (HBP spec §6.1): after the update at `step`, the batch's loss and
/// accuracy from the forward pass before it, the loss and accuracy on a random subset of the
/// training set and on the test set, and the wall-clock seconds since the run started.
public struct LogRow: Sendable, Equatable {
    public var step: Int
    /// Samples seen divided by the training set's size.
    public var epoch: Double
    public var wallSeconds: Double
    public var batchLoss: Double
    public var batchAccuracy: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double

    /// The CSV columns, in order.
    public static let columns = ["step", "epoch", "wall_seconds", "batch_loss", "batch_accuracy", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]

    /// The metrics that can be plotted, by column name.
    public func value(_ column: String) -> Double? {
        switch column {
        case "step": Double(step)
        case "epoch": epoch
        case "wall_seconds": wallSeconds
        case "batch_loss": batchLoss
        case "batch_accuracy": batchAccuracy
        case "train_loss": trainLoss
        case "train_accuracy": trainAccuracy
        case "test_loss": testLoss
        case "test_accuracy": testAccuracy
        default: nil
        }
    }

    var csvLine: String {
        ([String(step)] + [epoch, wallSeconds, batchLoss, batchAccuracy, trainLoss, trainAccuracy, testLoss, testAccuracy].map { "\($0)" })
            .joined(separator: ",")
    }
}

/// A run's log as CSV: a header line of ``LogRow/columns``, then one line per entry.
public enum RunLog {
    public static func csv(_ rows: [LogRow]) -> String {
        ([LogRow.columns.joined(separator: ",")] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
    }

    /// Parses what ``csv(_:)`` wrote; `path` names the file in errors.
    public static func parse(_ text: String, path: String) throws -> [LogRow] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == LogRow.columns.joined(separator: ",") else {
            throw ExperimentError.invalidLog(path: path, line: 1, reason: "the header must be \(LogRow.columns.joined(separator: ","))")
        }
        return try lines.dropFirst().enumerated().map { index, line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let values = fields.map { Double($0) }
            guard fields.count == LogRow.columns.count, values.allSatisfy({ $0 != nil }), let step = Int(fields[0]) else {
                throw ExperimentError.invalidLog(path: path, line: index + 2, reason: "expected \(LogRow.columns.count) numbers, the first a whole step")
            }
            let v = values.map { $0! }
            return LogRow(step: step, epoch: v[1], wallSeconds: v[2], batchLoss: v[3], batchAccuracy: v[4],
                          trainLoss: v[5], trainAccuracy: v[6], testLoss: v[7], testAccuracy: v[8])
        }
    }

    public static func read(_ url: URL) throws -> [LogRow] {
        try parse(String(decoding: FileBytes.read(from: url), as: UTF8.self), path: url.path)
    }

    public static func write(_ rows: [LogRow], to url: URL) throws {
        try AtomicFile.write(Array(csv(rows).utf8), to: url)
    }
}

/// Runs of one configuration over several seeds, merged entry by entry: the mean and the sample
/// standard deviation (`n − 1`; zero for one seed) of every column, as the HBP scripts' merger.
public struct MergedLog: Sendable, Equatable {
    public var seeds: Int
    /// Per column of ``LogRow/columns``, the means and deviations over seeds, one per entry.
    public var mean: [String: [Double]]
    public var deviation: [String: [Double]]

    /// Merges logs entry by entry over the entries all of them have (a run stopped early shortens the merge).
    public init(_ logs: [[LogRow]]) {
        seeds = logs.count
        let length = logs.map(\.count).min() ?? 0
        var mean: [String: [Double]] = [:], deviation: [String: [Double]] = [:]
        for column in LogRow.columns {
            let values = (0..<length).map { index in logs.map { $0[index].value(column)! } }
            mean[column] = values.map { $0.reduce(0, +) / Double($0.count) }
            deviation[column] = values.map { samples in
                guard samples.count > 1 else { return 0 }
                let average = samples.reduce(0, +) / Double(samples.count)
                return (samples.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(samples.count - 1)).squareRoot()
            }
        }
        (self.mean, self.deviation) = (mean, deviation)
    }

    /// `<column>_mean,<column>_std` for every column, one line per entry.
    public var csv: String {
        let header = LogRow.columns.flatMap { ["\($0)_mean", "\($0)_std"] }.joined(separator: ",")
        let count = mean["step"]?.count ?? 0
        let lines = (0..<count).map { index in
            LogRow.columns.flatMap { ["\(mean[$0]![index])", "\(deviation[$0]![index])"] }.joined(separator: ",")
        }
        return ([header] + lines).joined(separator: "\n") + "\n"
    }
}
