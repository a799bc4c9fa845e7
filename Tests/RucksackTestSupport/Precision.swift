import RucksackCore
import Testing

/// The element types every numerical test runs for.
public let allPrecisions: [any TensorScalar.Type] = [Float.self, Double.self]

/// How close a result must be to its reference: within `relative` of the reference's largest
/// magnitude, or within `absolute`, whichever is larger (in the manner of swift-numerics'
/// `isApproximatelyEqual(to:relativeTolerance:norm:)`, with the maximum norm over all elements).
///
/// `absolute` only matters where the reference is (nearly) zero throughout; every test states
/// both, and a test's `absolute` lies far below `relative` times the scale of its data, so that
/// small references are still compared relatively.
public struct Tolerance: Sendable, CustomStringConvertible {
    public var relative: Double
    public var absolute: Double

    public init(relative: Double, absolute: Double) {
        self.relative = relative
        self.absolute = absolute
    }

    /// For results of data of order one computed in `Scalar`, against Float64 references:
    /// relative 1e-4 and absolute 1e-6 for `Float`, 1e-12 and 1e-14 for `Double` (tight, but
    /// above the rounding of short sums).
    public static func unitScale<Scalar: TensorScalar>(_: Scalar.Type) -> Tolerance {
        Scalar.self == Float.self ? Tolerance(relative: 1e-4, absolute: 1e-6) : Tolerance(relative: 1e-12, absolute: 1e-14)
    }

    /// Bit-identical results.
    public static let exact = Tolerance(relative: 0, absolute: 0)

    /// The tolerance scaled by `factor` in both parts.
    public func times(_ factor: Double) -> Tolerance { Tolerance(relative: relative * factor, absolute: absolute * factor) }

    /// The largest difference allowed against a reference whose largest magnitude is `scale`.
    public func allowed(scale: Double) -> Double { max(absolute, relative * scale) }

    public var description: String { "relative \(relative), absolute \(absolute)" }
}

/// How far `actual` is from `expected`: the largest absolute difference and the largest
/// reference magnitude. NaNs and infinities must sit at the same places with the same values
/// (they are then skipped); a count, NaN or infinity mismatch gives an infinite difference.
public func deviation<Scalar: TensorScalar>(_ actual: [Scalar], _ expected: [Double]) -> (difference: Double, scale: Double) {
    guard actual.count == expected.count else { return (.infinity, 0) }
    var difference = 0.0
    var scale = 0.0
    for (a, e) in zip(actual, expected) {
        if Double(a).isNaN != e.isNaN { return (.infinity, 0) }
        if e.isNaN { continue }
        if Double(a).isInfinite || e.isInfinite {
            if Double(a) != e { return (.infinity, 0) }
            continue
        }
        difference = max(difference, abs(Double(a) - e))
        scale = max(scale, abs(e))
    }
    return (difference, scale)
}

/// Whether `actual` matches `expected` within `tolerance`.
public func isClose<Scalar: TensorScalar>(_ actual: [Scalar], _ expected: [Double], _ tolerance: Tolerance) -> Bool {
    let (difference, scale) = deviation(actual, expected)
    return difference <= tolerance.allowed(scale: scale)
}

/// Expects `actual` to match `expected` within `tolerance`; a failure reports the measured
/// difference, the allowed one and the reference's scale.
public func expectClose<Scalar: TensorScalar>(
    _ actual: [Scalar], _ expected: [Double], _ tolerance: Tolerance, _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let (difference, scale) = deviation(actual, expected)
    let allowed = tolerance.allowed(scale: scale)
    #expect(difference <= allowed, "\(comment()): max |difference| \(difference) > allowed \(allowed) (\(tolerance), max |reference| \(scale))",
            sourceLocation: sourceLocation)
}

extension Tensor {
    /// The elements widened to `Double`, for comparison with references.
    public var doubles: [Double] { scalars.map(Double.init) }
}
