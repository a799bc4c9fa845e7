/// Derivatives of Float64 maps by central differences with one Richardson extrapolation step,
/// accurate to about 1e-10 relative for smooth maps (exact up to rounding for linear ones).
public enum FiniteDifferences {
    /// The dense Jacobian `∂f/∂x` as rows `[outputs][inputs]`, assembled column by column.
    /// `step` is the relative step (default `1e-3`); smaller steps suit deep maps whose high
    /// derivatives are large.
    public static func jacobian(_ f: ([Double]) throws -> [Double], at x: [Double], step: Double = 1e-3) rethrows -> [[Double]] {
        let outputs = try f(x).count
        var rows = [[Double]](repeating: [Double](repeating: 0, count: x.count), count: outputs)
        for i in x.indices {
            let column = try derivative(along: i, at: x, step: step, f)
            for o in 0..<outputs { rows[o][i] = column[o] }
        }
        return rows
    }

    /// `∂f/∂xᵢ` for every output.
    public static func derivative(along i: Int, at x: [Double], step: Double = 1e-3, _ f: ([Double]) throws -> [Double]) rethrows -> [Double] {
        let h = step * max(1, abs(x[i]))
        func central(_ step: Double) throws -> [Double] {
            var plus = x, minus = x
            plus[i] += step
            minus[i] -= step
            return zip(try f(plus), try f(minus)).map { ($0 - $1) / (2 * step) }
        }
        let coarse = try central(h), fine = try central(h / 2)
        return zip(fine, coarse).map { (4 * $0 - $1) / 3 }
    }

    /// `∂²g/∂xᵢ²` of a scalar map, with the same extrapolation. `step` overrides the default step
    /// `5e-3 · max(1, |xᵢ|)`, e.g. to stay between the kinks of a piecewise-linear map.
    public static func secondDerivative(
        along i: Int, at x: [Double], step: Double? = nil, _ g: ([Double]) throws -> Double
    ) rethrows -> Double {
        let h = step ?? 5e-3 * max(1, abs(x[i]))
        func central(_ step: Double) throws -> Double {
            var plus = x, minus = x
            plus[i] += step
            minus[i] -= step
            return (try g(plus) - 2 * g(x) + g(minus)) / (step * step)
        }
        return (4 * (try central(h / 2)) - (try central(h))) / 3
    }
}
