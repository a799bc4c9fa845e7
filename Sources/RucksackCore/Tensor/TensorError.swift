/// Errors thrown by tensor operations. Every message names the operation and the shapes involved.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two operands whose shapes do not fit together.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    /// A shape that cannot hold the given number of elements, or has a negative extent.
    case invalidShape(operation: String, shape: [Int], reason: String)
    /// An axis outside `-rank ..< rank`.
    case axisOutOfRange(operation: String, axis: Int, rank: Int)
    /// Any other argument that the operation cannot accept.
    case invalidArgument(operation: String, reason: String)
    /// A result larger than ``MemoryBudget/limit``; `bytes` is `nil` when even its byte count overflows.
    case exceedsMemoryLimit(operation: String, shape: [Int], bytes: Int?, limit: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, lhs, rhs):
            "\(operation): shapes \(lhs) and \(rhs) do not match"
        case let .invalidShape(operation, shape, reason):
            "\(operation): invalid shape \(shape): \(reason)"
        case let .axisOutOfRange(operation, axis, rank):
            "\(operation): axis \(axis) is out of range for a tensor of rank \(rank)"
        case let .invalidArgument(operation, reason):
            "\(operation): \(reason)"
        case let .exceedsMemoryLimit(operation, shape, bytes, limit):
            "\(operation): a tensor of shape \(shape) needs \(MemoryBudget.describe(bytes)), over the memory limit of "
                + "\(MemoryBudget.describe(limit)) (rucksack compute --memory-limit raises it)"
        }
    }
}
