/// Problems in a model file, naming the layer (dotted index path and type) and the key.
public enum ModelFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(reason: String)
    /// Text that is not JSON, with the byte offset of the problem.
    case invalidJSON(offset: Int, reason: String)
    case layer(path: String, type: String, key: String?, reason: String)

    public var description: String {
        switch self {
        case let .malformed(reason): "model file: \(reason)"
        case let .invalidJSON(offset, reason): "model file: \(reason) at byte offset \(offset)"
        case let .layer(path, type, key, reason):
            "model file: layer \(path) (\(type))" + (key.map { ", key '\($0)'" } ?? "") + ": \(reason)"
        }
    }
}
