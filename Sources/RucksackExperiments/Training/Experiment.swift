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
    }

    public func folder(of run: RunSettings) -> URL {
        output.appendingPathComponent(config.name).appendingPathComponent(run.folderName).appendingPathComponent("seed\(run.seed)")
    }

    /// Trains what is not on disk yet; `data` loads a data set's training and test splits. On
    /// several processes (`communicator`) they train each run together, data-parallel, and only
    /// process 0 writes files and reports events.
    public func train(
        data: (DataSet) throws -> (train: LabeledImages, test: LabeledImages), communicator: any Communicator = SingleProcess(),
        events: (Event) -> Void = { _ in }
    ) throws {
        let events = communicator.isRoot ? events : { _ in }
        var loaded: [DataSet: (train: LabeledImages, test: LabeledImages)] = [:]
        for run in config.runs {
            for settings in run.settings {
                let folder = folder(of: settings)
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent(TrainingRun.logFile).path) {
                    events(.skipped(label: run.label, seed: settings.seed, folder: folder))
                    continue
                }
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                if loaded[settings.dataSet] == nil { loaded[settings.dataSet] = try data(settings.dataSet) }
                let resuming = FileManager.default.fileExists(atPath: folder.appendingPathComponent(TrainingRun.checkpointFile).path)
                events(.started(label: run.label, seed: settings.seed, folder: folder, resuming: resuming))
                let start = ContinuousClock.now
                _ = try TrainingRun(settings: settings).run(
                    train: loaded[settings.dataSet]!.train, test: loaded[settings.dataSet]!.test, folder: folder, communicator: communicator,
                    progress: { events(.progress($0)) }, logged: { events(.logged($0)) })
                events(.finished(label: run.label, seed: settings.seed, seconds: seconds(since: start)))
            }
            guard communicator.isRoot else { continue }
            try AtomicFile.write(Array(merged(run).csv.utf8), to: folder(of: run.settings[0]).deletingLastPathComponent().appendingPathComponent("merged.csv"))
        }
    }

    /// A run's seeds merged; every seed's `log.csv` must be on disk.
    public func merged(_ run: ExperimentConfig.Run) throws -> MergedLog {
        MergedLog(try run.settings.map { try RunLog.read(folder(of: $0).appendingPathComponent(TrainingRun.logFile)) })
    }

    /// Draws every figure of the config from the logs on disk; returns the files written.
    @discardableResult
    public func plot() throws -> [URL] {
        let logs = try config.runs.map { ($0.label, try merged($0)) }
        let directory = output.appendingPathComponent(config.name).appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try config.figures.map { figure in
            let series = logs.map { label, log in
                PlotSeries(label: log.seeds > 1 ? "\(label) (\(log.seeds) seeds)" : label, x: log.mean[figure.x]!, mean: log.mean[figure.y]!,
                           deviation: log.seeds > 1 ? log.deviation[figure.y]! : nil)
            }
            let plot = LinePlot(
                title: figure.title ?? "\(config.name): \(Self.axisName(figure.y))", xLabel: Self.axisName(figure.x), yLabel: Self.axisName(figure.y),
                series: series, yScale: figure.yScale)
            let url = directory.appendingPathComponent("\(figure.y)-vs-\(figure.x).svg")
            try AtomicFile.write(Array(plot.svg().utf8), to: url)
            return url
        }
    }

    static func axisName(_ column: String) -> String {
        switch column {
        case "wall_seconds": "wall-clock time (s)"
        case "epoch": "epoch"
        default: column.replacingOccurrences(of: "_", with: " ")
        }
    }
}
