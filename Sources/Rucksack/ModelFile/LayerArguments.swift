/// The constructor arguments of one layer in a model file, read with PyTorch's defaults and
/// value forms. ``finish()`` rejects every key no reader asked for.
struct LayerArguments {
    let path: String
    let type: String
    private let place: ModelFile.Place
    private let values: [String: JSONValue]
    private var consumed: Set<String> = ["type"]

    /// The members of the layer's object; their keys are unique.
    init(_ members: [JSONValue.Member], place: ModelFile.Place, type: String) {
        self.values = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        self.place = place
        self.path = place.path
        self.type = type
    }

    /// Checks, before it is allocated, the parameter or buffer `local` of the shape the
    /// arguments `keys` give it: no negative extent, within the memory limit, and of the shape
    /// the weights that will be loaded have, where those are known.
    func checkState<Scalar: TensorScalar>(_ local: String, shape: [Int], keys: [String], of _: Scalar.Type) throws {
        let key = keys.joined(separator: "/")
        guard shape.allSatisfy({ $0 >= 0 }) else { throw error(key, "gives \(local) the negative shape \(shape)") }
        do {
            try MemoryBudget.check(shape, of: Scalar.self, operation: "\(local)")
        } catch let TensorError.exceedsMemoryLimit(_, _, bytes, limit) {
            throw error(key, "gives \(local) the shape \(shape), which needs \(MemoryBudget.describe(bytes)), over the memory limit of "
                        + "\(MemoryBudget.describe(limit)) (rucksack compute --memory-limit raises it)")
        } catch {
            throw self.error(key, "gives \(local) the shape \(shape): \(error)")
        }
        guard let shapes = place.parameterShapes else { return }
        let name = place.statePrefix + local
        guard let found = shapes[name] else { throw error(key, "the weights have no '\(name)' for this layer's \(local) of shape \(shape)") }
        guard found == shape else { throw error(key, "gives \(local) the shape \(shape), but the weights' '\(name)' has shape \(found)") }
    }

    func error(_ key: String?, _ reason: String) -> ModelFileError {
        .layer(path: path, type: type, key: key, reason: reason)
    }

    /// The value of `key`, or `nil` when it is absent or `null`.
    mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = values[key], case .null = value.kind else { return values[key] }
        return nil
    }

    mutating func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = value(key) else {
            if let fallback { return fallback } else { throw error(key, "is required") }
        }
        guard let int = value.integer else { throw error(key, "must be an integer\(value.isIntegerText ? " that fits in 64 bits" : ""), got \(value)") }
        return int
    }

    /// One int for every axis, or a list of `count` ints, as PyTorch's `_ntuple`.
    mutating func ints(_ key: String, count: Int, default fallback: [Int]? = nil) throws -> [Int] {
        try ints(value(key), key: key, count: count, default: fallback)
    }

    /// ``ints(_:count:default:)`` for a value already taken.
    func ints(_ value: JSONValue?, key: String, count: Int, default fallback: [Int]? = nil) throws -> [Int] {
        guard let value else {
            if let fallback { return fallback } else { throw error(key, "is required") }
        }
        if let int = value.integer { return [Int](repeating: int, count: count) }
        guard case let .array(items) = value.kind, items.count == count else {
            throw error(key, "must be an integer or a list of \(count) integers, got \(value)")
        }
        return try items.map { item in
            guard let int = item.integer else { throw error(key, "must hold integers\(item.isIntegerText ? " that fit in 64 bits" : ""), got \(item)") }
            return int
        }
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = value(key) else { return fallback }
        guard case let .bool(flag) = value.kind else { throw error(key, "must be true or false, got \(value)") }
        return flag
    }

    mutating func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        guard let value = value(key) else {
            if let fallback { return fallback } else { throw error(key, "is required") }
        }
        guard let number = value.number, number.isFinite else { throw error(key, "must be a finite number, got \(value)") }
        return number
    }

    /// A string argument that only `allowed` values may take.
    mutating func string(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        guard let value = value(key) else { return fallback }
        guard case let .string(text) = value.kind, allowed.contains(text) else {
            throw error(key, "must be one of \(allowed), got \(value) (others are not supported)")
        }
        return text
    }

    /// Throws for a key that no reader consumed: a typo or an argument Rucksack does not support.
    func finish() throws {
        if let unknown = values.keys.sorted().first(where: { !consumed.contains($0) }) {
            throw error(unknown, "is not an argument Rucksack supports for \(type)")
        }
    }
}
