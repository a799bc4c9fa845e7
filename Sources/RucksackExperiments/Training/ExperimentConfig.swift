import Foundation
import Rucksack

/// A set of runs for one figure, read from a small JSON file (see `Docs/experiments.md`):
/// shared settings at the top level, a list of `runs` that each add or override settings and
/// carry a `label`, the `seeds` every run is repeated with, and the `figures` to draw.
public struct ExperimentConfig: Sendable {
    /// A run of the experiment, once per seed.
    public struct Run: Sendable {
        public var label: String
        public var seeds: [UInt64]
        /// The run's settings for each seed, in the order of ``seeds``.
        public var settings: [RunSettings]
    }

    /// A figure: one metric against the epoch or the wall-clock time, one series per run.
    public struct Figure: Sendable, Equatable {
        public var y: String
        public var x: String
        public var yScale: PlotScale
        public var title: String?
    }

    public var name: String
    /// The data set's folder as the config names it, relative to the config file's folder.
    public var dataDirectory: URL?
    public var runs: [Run]
    public var figures: [Figure]

    static let settingKeys: Set<String> = [
        "data", "model", "initialization", "epochs", "batch_size", "train_size", "test_size", "train_evaluation_size", "logs_per_epoch",
        "evaluation_batch_size", "seeds", "optimizer", "lr", "momentum", "beta1", "beta2", "damping", "running_average", "inverse_interval",
        "curvature", "products", "max_blocks", "alpha", "cg_max_iterations", "cg_tolerance", "cg_absolute_tolerance",
    ]

    public static func read(from url: URL) throws -> ExperimentConfig {
        try decode(FileBytes.read(from: url, limit: 1 << 20), path: url.path, folder: url.deletingLastPathComponent())
    }

    public static func decode(_ bytes: [UInt8], path: String, folder: URL) throws -> ExperimentConfig {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes[...], maximumDepth: 16, document: "the experiment config") } catch {
            throw ExperimentError.invalidConfig(path: path, offset: error.offset, reason: error.reason)
        }
        let reader = ConfigReader(path: path)
        let top = try reader.object(document, allowed: settingKeys.union(["name", "description", "data_dir", "runs", "figures"]))
        guard let name = try top["name"].map(reader.string), !name.isEmpty, !name.contains("/") else {
            throw ExperimentError.invalidConfig(path: path, offset: document.offset, reason: "needs a \"name\" without '/' (the output folder)")
        }
        guard let runList = top["runs"], case let .array(items) = runList.kind, !items.isEmpty else {
            throw ExperimentError.invalidConfig(path: path, offset: document.offset, reason: "needs a non-empty list \"runs\"")
        }
        let shared = top.filter { settingKeys.contains($0.key) }
        var runs: [Run] = []
        for item in items {
            let own = try reader.object(item, allowed: settingKeys.union(["label"]))
            guard let label = try own["label"].map(reader.string) else {
                throw ExperimentError.invalidConfig(path: path, offset: item.offset, reason: "every run needs a \"label\"")
            }
            let run = try reader.run(label: label, settings: shared.merging(own.filter { $0.key != "label" }) { $1 }, at: item)
            if let clash = runs.first(where: { $0.settings[0].folderName == run.settings[0].folderName }) {
                throw ExperimentError.invalidConfig(path: path, offset: item.offset, reason: "labels '\(clash.label)' and '\(label)' give the same folder name")
            }
            runs.append(run)
        }
        let figures = try top["figures"].map(reader.figures) ?? [Figure(y: "train_loss", x: "epoch", yScale: .linear, title: nil),
                                                                  Figure(y: "test_accuracy", x: "epoch", yScale: .linear, title: nil)]
        let dataDirectory = try top["data_dir"].map { value in
            let text = try reader.string(value)
            return (text.hasPrefix("/") ? URL(fileURLWithPath: text) : folder.appendingPathComponent(text)).standardizedFileURL
        }
        return ExperimentConfig(name: name, dataDirectory: dataDirectory, runs: runs, figures: figures)
    }
}

/// Typed reads of config values, with errors that name the key and the byte offset.
private struct ConfigReader {
    let path: String

    func fail(_ value: JSONValue, _ reason: String) -> ExperimentError { .invalidConfig(path: path, offset: value.offset, reason: reason) }

    func object(_ value: JSONValue, allowed: Set<String>) throws -> [String: JSONValue] {
        guard let members = value.members else { throw fail(value, "expected an object, found \(value.typeName)") }
        if let (_, again) = value.firstDuplicateKey { throw ExperimentError.invalidConfig(path: path, offset: again.keyOffset, reason: "key '\(again.key)' appears twice") }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw ExperimentError.invalidConfig(path: path, offset: unknown.keyOffset, reason: "unknown key '\(unknown.key)'; known: \(allowed.sorted().joined(separator: ", "))")
        }
        return Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value) })
    }

    func string(_ value: JSONValue) throws -> String {
        guard case let .string(text) = value.kind else { throw fail(value, "expected a string, found \(value.typeName)") }
        return text
    }

    func choice<T: RawRepresentable<String> & CaseIterable>(_ value: JSONValue, _: T.Type, key: String) throws -> T {
        let text = try string(value)
        guard let choice = T(rawValue: text) ?? T(rawValue: text.replacingOccurrences(of: "-", with: "_")) else {
            throw fail(value, "'\(key)' must be one of \(T.allCases.map { "\($0.rawValue)".replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")), got '\(text)'")
        }
        return choice
    }

    func integer(_ value: JSONValue, key: String) throws -> Int {
        guard let integer = value.integer, integer > 0 else { throw fail(value, "'\(key)' must be a positive whole number, got \(value)") }
        return integer
    }

    func number(_ value: JSONValue, key: String) throws -> Float {
        guard let number = value.number, number.isFinite, number >= 0 else { throw fail(value, "'\(key)' must be a non-negative number, got \(value)") }
        return Float(number)
    }

    func run(label: String, settings: [String: JSONValue], at item: JSONValue) throws -> ExperimentConfig.Run {
        func required(_ key: String) throws -> JSONValue {
            guard let value = settings[key] else { throw fail(item, "run '\(label)' needs '\(key)'") }
            return value
        }
        func number(_ key: String, default fallback: Float? = nil) throws -> Float {
            if let value = settings[key] { return try self.number(value, key: key) }
            guard let fallback else { throw fail(item, "run '\(label)' needs '\(key)'") }
            return fallback
        }
        func integer(_ key: String) throws -> Int? { try settings[key].map { try self.integer($0, key: key) } }
        let optimizer = try string(required("optimizer"))
        let applicable: Set<String> = switch optimizer {
        case "sgd": ["lr", "momentum"]
        case "adam": ["lr", "beta1", "beta2"]
        case "kfac": ["lr", "damping", "running_average", "inverse_interval"]
        case "cg-newton": ["lr", "alpha", "curvature", "products", "max_blocks", "cg_max_iterations", "cg_tolerance", "cg_absolute_tolerance"]
        default: throw fail(settings["optimizer"]!, "'optimizer' must be sgd, adam, kfac or cg-newton, got '\(optimizer)'")
        }
        let optimizerKeys: Set<String> = ["lr", "momentum", "beta1", "beta2", "damping", "running_average", "inverse_interval", "curvature", "products",
                                          "max_blocks", "alpha", "cg_max_iterations", "cg_tolerance", "cg_absolute_tolerance"]
        if let stray = settings.keys.sorted().first(where: { optimizerKeys.contains($0) && !applicable.contains($0) }) {
            throw fail(settings[stray]!, "'\(stray)' does not apply to \(optimizer) (run '\(label)')")
        }
        let settingsOfOptimizer: OptimizerSettings = switch optimizer {
        case "sgd": .sgd(learningRate: try number("lr"), momentum: try number("momentum", default: 0))
        case "adam": .adam(learningRate: try number("lr", default: 1e-3), beta1: try number("beta1", default: 0.9), beta2: try number("beta2", default: 0.999))
        case "kfac": .kfac(learningRate: try number("lr"), damping: try number("damping", default: 1e-3),
                           runningAverage: try number("running_average", default: 0.95), inverseInterval: try integer("inverse_interval") ?? 10)
        default: .cgNewton(try CGNewtonSettings(
            curvature: try choice(required("curvature"), CurvatureKind.self, key: "curvature"),
            products: try settings["products"].map { try choice($0, CurvatureProducts.self, key: "products") } ?? .exact,
            maxBlocks: try integer("max_blocks"), learningRate: try number("lr"), alpha: try number("alpha"),
            maxIterations: try integer("cg_max_iterations") ?? 50, relativeTolerance: try number("cg_tolerance", default: 0.1),
            absoluteTolerance: try number("cg_absolute_tolerance", default: 0)))
        }
        let seeds: [UInt64] = try settings["seeds"].map { value in
            guard case let .array(items) = value.kind, !items.isEmpty else { throw fail(value, "'seeds' must be a non-empty list of whole numbers") }
            return try items.map { item in
                guard let seed = item.nonNegativeInteger else { throw fail(item, "a seed must be a whole number ≥ 0, got \(item)") }
                return UInt64(seed)
            }
        } ?? [0]
        let dataSet = try choice(required("data"), DataSet.self, key: "data")
        let model = try choice(required("model"), ZooModel.self, key: "model")
        let initialization = try settings["initialization"].map { try choice($0, ZooInitialization.self, key: "initialization") }
        let settingsPerSeed = try seeds.map { seed in
            try RunSettings(
                label: label, dataSet: dataSet, model: model, initialization: initialization, optimizer: settingsOfOptimizer,
                batchSize: try integer("batch_size") ?? 128, epochs: try integer("epochs") ?? 1, seed: seed, trainSize: try integer("train_size"),
                testSize: try integer("test_size"), trainEvaluationSize: try integer("train_evaluation_size") ?? 10_000,
                logsPerEpoch: try integer("logs_per_epoch") ?? 1, evaluationBatchSize: try integer("evaluation_batch_size") ?? 500)
        }
        return ExperimentConfig.Run(label: label, seeds: seeds, settings: settingsPerSeed)
    }

    func figures(_ value: JSONValue) throws -> [ExperimentConfig.Figure] {
        guard case let .array(items) = value.kind else { throw fail(value, "'figures' must be a list") }
        return try items.map { item in
            let figure = try object(item, allowed: ["y", "x", "y_scale", "title"])
            let y = try figure["y"].map(string) ?? "train_loss", x = try figure["x"].map(string) ?? "epoch"
            for (key, column) in [("y", y), ("x", x)] where !LogRow.columns.contains(column) {
                throw fail(figure[key]!, "'\(key)' must be a log column: \(LogRow.columns.joined(separator: ", "))")
            }
            let scale = try figure["y_scale"].map { try choice($0, PlotScale.self, key: "y_scale") } ?? .linear
            return ExperimentConfig.Figure(y: y, x: x, yScale: scale, title: try figure["title"].map(string))
        }
    }
}

extension PlotScale: CaseIterable {
    public static var allCases: [PlotScale] { [.linear, .log] }
}
