/// Integer arithmetic on sizes that come from files, throwing instead of trapping on overflow.
public struct CheckedArithmetic: Sendable {
    /// Names the computation in errors, e.g. `convolution output size`.
    public let operation: String

    public init(_ operation: String) { self.operation = operation }

    public func product(_ a: Int, _ b: Int) throws -> Int {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw failure("\(a) × \(b)") }
        return result
    }

    public func sum(_ a: Int, _ b: Int) throws -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw failure("\(a) + \(b)") }
        return result
    }

    public func difference(_ a: Int, _ b: Int) throws -> Int {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw failure("\(a) − \(b)") }
        return result
    }

    private func failure(_ expression: String) -> TensorError {
        .invalidArgument(operation: operation, reason: "\(expression) overflows: the sizes are too large")
    }
}
