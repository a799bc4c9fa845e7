import RealModule

extension Tensor {
    @inlinable public func exp() -> Tensor { map { .exp($0) } }
    @inlinable public func log() -> Tensor { map { .log($0) } }
    /// `log(1 + x)`, accurate for small `x`.
    @inlinable public func log1p() -> Tensor { map { .log(onePlus: $0) } }
    @inlinable public func sqrt() -> Tensor { map { .sqrt($0) } }
    @inlinable public func abs() -> Tensor { map { Swift.abs($0) } }
    @inlinable public func tanh() -> Tensor { map { .tanh($0) } }
    @inlinable public func erf() -> Tensor { map { .erf($0) } }
    @inlinable public func squared() -> Tensor { map { $0 * $0 } }

    /// The logistic function `1 / (1 + e^(-x))`, evaluated without overflow for large `|x|`.
    @inlinable public func sigmoid() -> Tensor { map(Scalar.logistic) }

    /// `log(1 + e^(βx)) / β`, linear above `threshold` as in `torch.nn.functional.softplus`.
    @inlinable
    public func softplus(beta: Scalar = 1, threshold: Scalar = 20) -> Tensor {
        map { x in
            let scaled = beta * x
            return scaled > threshold ? x : Scalar.log(onePlus: .exp(scaled)) / beta
        }
    }

    /// Limits every element to `lower ... upper`; either bound may be omitted. NaN stays NaN.
    @inlinable
    public func clamped(min lower: Scalar? = nil, max upper: Scalar? = nil) -> Tensor {
        map { x in
            var y = x
            if let lower, y < lower { y = lower }
            if let upper, y > upper { y = upper }
            return y
        }
    }
}

extension TensorScalar {
    /// The logistic function `1 / (1 + e^(-x))`, evaluated without overflow for large `|x|`.
    @inlinable
    public static func logistic(_ x: Self) -> Self {
        if x >= 0 { return 1 / (1 + .exp(-x)) }
        let e = Self.exp(x)
        return e / (1 + e)
    }
}
