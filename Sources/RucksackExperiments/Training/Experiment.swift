import Foundation
import Rucksack

/// Runs an experiment's runs for every seed into `<output>/<name>/<run>/seed<k>/`, skipping
/// runs whose `log.csv` is already there and resuming those with a checkpoint, merges each run's
/// seeds into `<run>/merged.csv` and draws the figures into `<output>/<name>/figures/`.
public struct Experiment: Sendable {
    public var config: ExperimentConfig
    public var output: URL

    public init(config: ExperimentConfig, output: URL) {
        self.config = config
        self.output = output
    }

    /// What happens, for the command line to show.
    public enum Event: Sendable {
        case skipped(label: String, seed: UInt64, folder: URL)
        case started(label: String, seed: UInt64, folder: URL, resuming: Bool)
        case progress(TrainingRun.Progress)
        case logged(LogRow)
        case finished(label: String, seed: UInt64, seconds: Double)
        /// The run stopped on a non-finite loss; the others go on.
        case failed(label: String, seed: UInt64, error: ExperimentError)
    }

    /// Written instead of `log.csv` by a run that stopped on a non-finite loss: its message.
    public static let failureFile = "failed.txt"

    public func folder(of run: RunSettings) -> URL {
        output.appendingPathComponent(config.name).appendingPathComponent(run.folderName).appendingPathComponent("seed\(run.seed)")
    }

    /// Trains what is not on disk yet; `data` loads a data set's training and test splits. On
    /// several processes (`communicator`) they train each run together, data-parallel, and only
    /// process 0 writes files and reports events. A run that stops on a non-finite loss leaves
    /// its message in `failed.txt` (and counts as done); the others go on. Returns those failures.
    @discardableResult
    public func train(
        data: (DataSet) throws -> (train: LabeledImages, test: LabeledImages), communicator: any Communicator = SingleProcess(),
        events: (Event) -> Void = { _ in }
    ) throws -> [ExperimentError] {
        var failures: [ExperimentError] = []
        let events = communicator.isRoot ? events : { _ in }
        var loaded: [DataSet: (train: LabeledImages, test: LabeledImages)] = [:]
        for run in config.runs {
            for settings in run.settings {
                let folder = folder(of: settings)
                let onDisk = [TrainingRun.logFile, Self.failureFile].contains { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
                let resuming = FileManager.default.fileExists(atPath: folder.appendingPathComponent(TrainingRun.checkpointFile).path)
                if communicator.size > 1 {
                    try communicator.requireSameJob(Array("\(onDisk) \(resuming)".utf8), what: "view of \(folder.path) (the processes need a shared file system)")
                }
                if onDisk {
                    try Checkpoint.requireSettings(settings.identity, in: folder.appendingPathComponent(TrainingRun.checkpointFile))
                    events(.skipped(label: run.label, seed: settings.seed, folder: folder))
                    continue
                }
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                if loaded[settings.dataSet] == nil { loaded[settings.dataSet] = try data(settings.dataSet) }
                events(.started(label: run.label, seed: settings.seed, folder: folder, resuming: resuming))
                let start = ContinuousClock.now
                do {
                    _ = try TrainingRun(settings: settings).run(
                        train: loaded[settings.dataSet]!.train, test: loaded[settings.dataSet]!.test, folder: folder, communicator: communicator,
                        progress: { events(.progress($0)) }, logged: { events(.logged($0)) })
                    events(.finished(label: run.label, seed: settings.seed, seconds: seconds(since: start)))
                } catch let error as ExperimentError {
                    guard case .nonFiniteLoss = error else { throw error }
                    failures.append(error)
                    events(.failed(label: run.label, seed: settings.seed, error: error))
                    if communicator.isRoot { try AtomicFile.write(Array("\(error)\n".utf8), to: folder.appendingPathComponent(Self.failureFile)) }
                }
            }
            guard communicator.isRoot else { continue }
            let log = try merged(run)
            guard log.seeds > 0 else { continue }
            try AtomicFile.write(Array(log.csv.utf8), to: folder(of: run.settings[0]).deletingLastPathComponent().appendingPathComponent("merged.csv"))
        }
        return failures
    }

    /// A run's seeds merged: those with a `log.csv` (a seed that stopped on a non-finite loss has none).
    public func merged(_ run: ExperimentConfig.Run) throws -> MergedLog {
        MergedLog(try run.settings.map { folder(of: $0).appendingPathComponent(TrainingRun.logFile) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }.map(RunLog.read))
    }

    /// Draws every figure of the config from the logs on disk, and writes ``summary()`` to
    /// `figures/summary.md`; returns the files written.
    @discardableResult
    public func plot() throws -> [URL] {
        let logs = try config.runs.map { ($0.label, try merged($0)) }
        let directory = output.appendingPathComponent(config.name).appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try config.figures.map { figure in
            let series = logs.map { label, log in
                // A run whose every seed stopped on a non-finite loss stays in the legend, without a line.
                PlotSeries(label: log.seeds == 0 ? "\(label) (loss became NaN)" : log.seeds > 1 ? "\(label) (\(log.seeds) seeds)" : label,
                           x: log.mean[figure.x]!, mean: log.mean[figure.y]!, deviation: log.seeds > 1 ? log.deviation[figure.y]! : nil)
            }
            let plot = LinePlot(
                title: figure.title ?? "\(config.name): \(Self.axisName(figure.y))", xLabel: Self.axisName(figure.x), yLabel: Self.axisName(figure.y),
                series: series, yScale: figure.yScale)
            let url = directory.appendingPathComponent("\(figure.y)-vs-\(figure.x).svg")
            try AtomicFile.write(Array(plot.svg().utf8), to: url)
            return url
        } + [try {
            let url = directory.appendingPathComponent("summary.md")
            try AtomicFile.write(Array(summary(logs).utf8), to: url)
            return url
        }()]
    }

    /// A Markdown table of every run's last log entry: mean ± sample deviation over its seeds.
    public func summary() throws -> String { summary(try config.runs.map { ($0.label, try merged($0)) }) }

    private func summary(_ logs: [(String, MergedLog)]) -> String {
        let columns = ["epoch", "wall_seconds", "train_loss", "test_loss", "train_accuracy", "test_accuracy"]
        var lines = ["| run | seeds | " + columns.map(Self.axisName).joined(separator: " | ") + " |",
                     "|---|---|" + String(repeating: "---|", count: columns.count)]
        for (label, log) in logs {
            guard log.seeds > 0, let last = log.mean["step"]?.indices.last else {
                lines.append("| \(label) | 0 | " + columns.map { _ in "stopped: loss NaN" }.joined(separator: " | ") + " |")
                continue
            }
            let cells = columns.map { column -> String in
                let (mean, deviation) = (log.mean[column]![last], log.deviation[column]![last])
                let digits = column == "epoch" || column == "wall_seconds" ? 1 : 3
                return log.seeds > 1 && column != "epoch" ? String(format: "%.\(digits)f ± %.\(digits)f", mean, deviation) : String(format: "%.\(digits)f", mean)
            }
            lines.append("| \(label) | \(log.seeds) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func axisName(_ column: String) -> String {
        switch column {
        case "wall_seconds": "wall-clock time (s)"
        case "epoch": "epoch"
        default: column.replacingOccurrences(of: "_", with: " ")
        }
    }
}
