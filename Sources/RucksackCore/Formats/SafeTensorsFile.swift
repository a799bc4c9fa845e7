/// The contents of a safetensors file: named arrays plus string metadata.
///
/// Names keep their order: the header's order for a decoded file, insertion order for a
/// built one. Writing does not depend on that order (see ``SafeTensors/encode(_:)``), and
/// two files compare equal when they hold the same arrays and metadata in any order.
public struct SafeTensorsFile: Sendable, Equatable {
    /// The reserved header key for metadata; no tensor may have this name.
    public static let metadataKey = "__metadata__"

    /// The tensor names in order.
    public private(set) var names: [String]
    /// The arrays by name.
    public private(set) var tensors: [String: ArrayData]
    /// Free-form string metadata, stored under `__metadata__` in the header.
    public var metadata: [String: String]

    /// Creates a file with no tensors.
    public init(metadata: [String: String] = [:]) {
        names = []
        tensors = [:]
        self.metadata = metadata
    }

    /// Creates a file from named arrays, ordered by name.
    /// - Throws: ``FormatError/invalidTensorName(name:reason:)`` for the name `__metadata__`.
    public init(tensors: [String: ArrayData], metadata: [String: String] = [:]) throws {
        self.init(metadata: metadata)
        for name in tensors.keys.sorted(by: Self.byteOrder) {
            if let array = tensors[name] { try insert(array, named: name) }
        }
    }

    /// The array called `name`, if any.
    public subscript(name: String) -> ArrayData? { tensors[name] }

    /// Adds an array at the end, or replaces the array of the same name in place.
    /// - Throws: ``FormatError/invalidTensorName(name:reason:)`` for the name `__metadata__`.
    public mutating func insert(_ array: ArrayData, named name: String) throws {
        guard name != Self.metadataKey else {
            throw FormatError.invalidTensorName(name: name, reason: "the key is reserved for the file's metadata")
        }
        if tensors.updateValue(array, forKey: name) == nil { names.append(name) }
    }

    /// Removes and returns the array called `name`.
    @discardableResult
    public mutating func remove(named name: String) -> ArrayData? {
        guard let array = tensors.removeValue(forKey: name) else { return nil }
        names.removeAll { $0 == name }
        return array
    }

    /// Whether both files hold the same arrays under the same names and the same metadata,
    /// in any order.
    public static func == (lhs: SafeTensorsFile, rhs: SafeTensorsFile) -> Bool {
        lhs.tensors == rhs.tensors && lhs.metadata == rhs.metadata
    }

    /// Orders strings by their UTF-8 bytes, as the Rust safetensors writer does.
    static func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}
