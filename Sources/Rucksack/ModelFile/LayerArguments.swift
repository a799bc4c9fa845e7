/// The constructor arguments of one layer in a model file, read with PyTorch's defaults and
/// value forms. ``finish()`` rejects every key no reader asked for.
struct LayerArguments {
    let path: String
    let type: String
    private let values: [String: JSONValue]
    private var consumed: Set<String> = ["type"]

    init(_ values: [String: JSONValue], path: String, type: String) {
        self.values = values
        self.path = path
        self.type = type
    }

    func error(_ key: String?, _ reason: String) -> ModelFileError {
        .layer(path: path, type: type, key: key, reason: reason)
    }

    /// The value of `key`, or `nil` when it is absent or `null`.
    mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        if case .null = values[key] ?? .null { return nil }
        return values[key]
    }

    mutating func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        switch value(key) {
        case let .integer(int)?: return int
        case nil: if let fallback { return fallback } else { throw error(key, "is required") }
        case let other?: throw error(key, "must be an integer, got \(other)")
        }
    }

    /// One int for every axis, or a list of `count` ints, as PyTorch's `_ntuple`.
    mutating func ints(_ key: String, count: Int, default fallback: [Int]? = nil) throws -> [Int] {
        try ints(value(key), key: key, count: count, default: fallback)
    }

    /// ``ints(_:count:default:)`` for a value already taken.
    func ints(_ value: JSONValue?, key: String, count: Int, default fallback: [Int]? = nil) throws -> [Int] {
        switch value {
        case let .integer(int)?: return [Int](repeating: int, count: count)
        case let .array(items)? where items.count == count:
            return try items.map { item in
                guard case let .integer(int) = item else { throw error(key, "must hold integers, got \(item)") }
                return int
            }
        case nil: if let fallback { return fallback } else { throw error(key, "is required") }
        case let other?: throw error(key, "must be an integer or a list of \(count) integers, got \(other)")
        }
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        switch value(key) {
        case let .bool(flag)?: return flag
        case nil: return fallback
        case let other?: throw error(key, "must be true or false, got \(other)")
        }
    }

    mutating func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        switch value(key) {
        case let .number(number)?: return number
        case let .integer(int)?: return Double(int)
        case nil: if let fallback { return fallback } else { throw error(key, "is required") }
        case let other?: throw error(key, "must be a number, got \(other)")
        }
    }

    /// A string argument that only `allowed` values may take.
    mutating func string(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        switch value(key) {
        case let .string(text)? where allowed.contains(text): return text
        case nil: return fallback
        case let other?: throw error(key, "must be one of \(allowed), got \(other) (others are not supported)")
        }
    }

    /// Throws for a key that no reader consumed: a typo or an argument Rucksack does not support.
    func finish() throws {
        if let unknown = values.keys.sorted().first(where: { !consumed.contains($0) }) {
            throw error(unknown, "is not an argument Rucksack supports for \(type)")
        }
    }
}
