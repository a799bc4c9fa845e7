import RucksackCore

/// The element types every numerical test runs for.
public let allPrecisions: [any TensorScalar.Type] = [Float.self, Double.self]

/// The relative tolerance a test states for a precision when comparing with a Float64 reference:
/// 1e-4 for `Float`, 1e-12 for `Double` (tight, but above the rounding of short sums).
public func tolerance<Scalar: TensorScalar>(_: Scalar.Type) -> Double {
    Scalar.self == Float.self ? 1e-4 : 1e-12
}

/// The largest absolute difference divided by the largest reference magnitude (or 1 when the
/// reference is all zeros): a relative error that does not blow up on individual zeros.
public func relativeError<Scalar: TensorScalar>(_ actual: [Scalar], _ expected: [Double]) -> Double {
    guard actual.count == expected.count else { return .infinity }
    var difference = 0.0
    var scale = 0.0
    for (a, e) in zip(actual, expected) {
        if Double(a).isNaN != e.isNaN { return .infinity }
        if e.isNaN { continue }
        difference = max(difference, abs(Double(a) - e))
        scale = max(scale, abs(e))
    }
    return difference / max(scale, 1)
}

extension Tensor {
    /// The elements widened to `Double`, for comparison with references.
    public var doubles: [Double] { scalars.map(Double.init) }
}
