import Foundation

/// One tick of an axis: where it sits in data units and the text written beside it.
struct AxisTick: Equatable, Sendable {
    /// The position in data units.
    var value: Double
    /// The label, formatted exactly from the decimal the tick stands for.
    var label: String
}

/// "Nice" ticks: steps of 1, 2 or 5 × 10^k on a linear axis, powers of ten on a log axis.
///
/// Ticks are computed as integer × 10^k and converted to `Double` in one correctly rounded step,
/// so 0...2.3 gives exactly 0, 0.5, 1, 1.5, 2 and labels never show binary artefacts.
enum AxisTicks {
    /// A step `significand` × 10^`exponent` with `significand` in {1, 2, 5}.
    struct Step: Equatable, Sendable {
        /// 1, 2 or 5.
        var significand: Int
        /// The power of ten.
        var exponent: Int
        /// The step as a number.
        var value: Double { AxisTicks.scaled(significand, exponent) }
    }

    /// `n` × 10^`exponent`, exact whenever the result is representable (10^k is exact up to 10^22).
    static func scaled(_ n: Int, _ exponent: Int) -> Double {
        let power = pow(10, Double(exponent.magnitude))
        return exponent >= 0 ? Double(n) * power : Double(n) / power
    }

    /// The smallest nice step that splits `span` into at most `maxIntervals` intervals.
    static func step(span: Double, maxIntervals: Int) -> Step {
        let intervals = Double(max(maxIntervals, 1))
        let base = Int(floor(log10(span / intervals)))
        for exponent in (base - 1)...(base + 1) {
            for significand in [1, 2, 5] where span / scaled(significand, exponent) <= intervals * (1 + 1e-9) {
                return Step(significand: significand, exponent: exponent)
            }
        }
        return Step(significand: 1, exponent: base + 2)
    }

    /// Ticks at every multiple of a nice step inside `range`, about `maxIntervals` of them.
    static func linear(_ range: ClosedRange<Double>, maxIntervals: Int = 5) -> [AxisTick] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [] }
        let step = step(span: span, maxIntervals: maxIntervals)
        let first = ceil(range.lowerBound / step.value - 1e-9), last = floor(range.upperBound / step.value + 1e-9)
        // Beyond ~2^50 steps from zero the multiples are no longer distinct doubles: give none.
        guard abs(first) < 1e15, abs(last) < 1e15, first <= last else { return [] }
        return (Int(first)...Int(last)).map { k in
            let n = k * step.significand
            return AxisTick(value: scaled(n, step.exponent), label: SVGText.decimal(significand: n, exponent: step.exponent))
        }
    }

    /// `range` widened outwards to multiples of a nice step, so that the axis starts and ends on a
    /// tick of `linear` with the same `maxIntervals`. A single value is widened by 10 % (±1 at zero) first.
    static func niceLinearRange(_ range: ClosedRange<Double>, maxIntervals: Int = 5) -> ClosedRange<Double> {
        var low = range.lowerBound, high = range.upperBound
        if !(high > low) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        // Snapping can add an interval at each end; past `maxIntervals`, take the next larger step.
        var step = step(span: high - low, maxIntervals: maxIntervals)
        while true {
            let size = step.value
            let first = floor(low / size + 1e-9), last = ceil(high / size - 1e-9)
            if last - first <= Double(max(maxIntervals, 1)) { return (first * size)...(last * size) }
            step = step.significand == 5 ? Step(significand: 1, exponent: step.exponent + 1)
                : Step(significand: step.significand * 2, exponent: step.exponent)
        }
    }

    /// Ticks for a log axis: powers of ten inside `range` (every second, third, … power when there
    /// are more than `maxIntervals` decades). With fewer than three powers inside, 2 and 5 × 10^k
    /// are labelled too, and a range that still holds fewer than two ticks falls back to `linear`.
    static func log(_ range: ClosedRange<Double>, maxIntervals: Int = 5) -> [AxisTick] {
        guard range.lowerBound > 0, range.upperBound > range.lowerBound, range.upperBound.isFinite else {
            return linear(range, maxIntervals: maxIntervals)
        }
        let lowest = Int(ceil(log10(range.lowerBound) - 1e-9)), highest = Int(floor(log10(range.upperBound) + 1e-9))
        let decades = highest - lowest
        var ticks: [AxisTick] = []
        if decades >= 2 {
            let stride = max(1, (decades + maxIntervals - 1) / max(maxIntervals, 1))
            for exponent in lowest...highest where exponent % stride == 0 {
                ticks.append(tick(1, exponent))
            }
            return ticks
        }
        for exponent in (lowest - 1)...(highest + 1) {
            let inside = { (value: Double) in
                value >= range.lowerBound * (1 - 1e-9) && value <= range.upperBound * (1 + 1e-9)
            }
            for significand in [1, 2, 5] where inside(scaled(significand, exponent)) {
                ticks.append(tick(significand, exponent))
            }
        }
        return ticks.count >= 2 ? ticks : linear(range, maxIntervals: maxIntervals)
    }

    /// Unlabelled minor ticks at 2…9 × 10^k on a log axis spanning at most six decades.
    static func logMinor(_ range: ClosedRange<Double>) -> [Double] {
        guard range.lowerBound > 0, range.upperBound > range.lowerBound, range.upperBound.isFinite else { return [] }
        let lowest = Int(floor(log10(range.lowerBound))), highest = Int(ceil(log10(range.upperBound)))
        guard highest - lowest <= 6 else { return [] }
        return (lowest...highest).flatMap { exponent in
            (2...9).map { scaled($0, exponent) }.filter { range.contains($0) }
        }
    }

    /// `range` widened outwards to the nearest 1, 2 or 5 × 10^k on each side, for a log axis.
    /// A single value is widened to half and twice itself first.
    static func niceLogRange(_ range: ClosedRange<Double>) -> ClosedRange<Double> {
        var low = range.lowerBound, high = range.upperBound
        if !(high > low) { low /= 2; high *= 2 }
        let candidates = { (value: Double) -> [Double] in
            let exponent = Int(floor(log10(value)))
            return (exponent - 1...exponent + 1).flatMap { e in [1, 2, 5].map { scaled($0, e) } }
        }
        let below = candidates(low).filter { $0 <= low * (1 + 1e-12) }.max() ?? low
        let above = candidates(high).filter { $0 >= high * (1 - 1e-12) }.min() ?? high
        return below...above
    }

    private static func tick(_ significand: Int, _ exponent: Int) -> AxisTick {
        AxisTick(value: scaled(significand, exponent), label: SVGText.decimal(significand: significand, exponent: exponent))
    }
}
