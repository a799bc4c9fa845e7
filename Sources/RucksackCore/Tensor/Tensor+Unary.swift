import RealModule

extension Tensor {
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func exp() -> Tensor { map { .exp($0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func log() -> Tensor { map { .log($0) } }
    /// `log(1 + x)`, accurate for small `x`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func log1p() -> Tensor { map { .log(onePlus: $0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func sqrt() -> Tensor { map { .sqrt($0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func abs() -> Tensor { map { Swift.abs($0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func tanh() -> Tensor { map { .tanh($0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func erf() -> Tensor { map { .erf($0) } }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func squared() -> Tensor { map { $0 * $0 } }

    /// The logistic function `1 / (1 + e^(-x))`, evaluated without overflow for large `|x|`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public func sigmoid() -> Tensor { map(Scalar.logistic) }

    /// `log(1 + e^(βx)) / β`, linear above `threshold` as in `torch.nn.functional.softplus`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func softplus(beta: Scalar = 1, threshold: Scalar = 20) -> Tensor {
        map { x in
            let scaled = beta * x
            return scaled > threshold ? x : Scalar.log(onePlus: .exp(scaled)) / beta
        }
    }

    /// Limits every element to `lower ... upper`; either bound may be omitted. NaN stays NaN.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
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

extension Tensor {
    /// `x` where `x > 0`, else `slope · x`: ReLU (`slope = 0`) and leaky ReLU.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func rectified(negativeSlope slope: Scalar = 0) -> Tensor {
        let total = count
        let result = scalars.withUnsafeBufferPointer { x in
            [Scalar](unsafeUninitializedCapacity: total) { out, initialized in
                let (x, out) = (UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                // The loop sits in the threads' closure itself, so it is compiled with the operation inlined.
                forEachSlice(of: total, parts: threadsFor(elements: total, units: total, threads: MatrixBackend.current.threads)) { _, slice in
                    for i in slice {
                        let v = x.pointer[i]
                        // `0 · (−∞)` would be NaN: ReLU(−∞) is 0, as in PyTorch; NaN stays NaN.
                        out.pointer[i] = v > 0 ? v : (slope == 0 && v == -.infinity ? 0 : slope * v)
                    }
                }
                initialized = total
            }
        }
        return Tensor(unchecked: shape, scalars: result)
    }

    /// `above` where `x > 0`, else `atOrBelow`: the derivative of ``rectified(negativeSlope:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable
    public func step(atOrBelowZero atOrBelow: Scalar, aboveZero above: Scalar) -> Tensor {
        map { $0 > 0 ? above : atOrBelow }
    }

    /// `self ⊙ step(x)`, `x` broadcast: for a stack of x-shaped tensors (ReLU's Jacobian
    /// products) one pass that never forms `step(x)`. The same arithmetic as multiplying by
    /// ``step(atOrBelowZero:aboveZero:)``, so the same results, NaN and infinities included.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func scaledByStep(of x: Tensor, atOrBelowZero atOrBelow: Scalar, aboveZero above: Scalar) throws -> Tensor {
        // A stack of x-shaped tensors (the usual case) runs as one loop per run of x, shared
        // out over the threads; other broadcasts multiply by the step function itself.
        guard shape.count >= x.rank, Array(shape.suffix(x.rank)) == x.shape, x.count > 0 else {
            return try self * x.step(atOrBelowZero: atOrBelow, aboveZero: above)
        }
        let n = x.count, total = count
        let result = scalars.withUnsafeBufferPointer { m in
            x.scalars.withUnsafeBufferPointer { x in
                [Scalar](unsafeUninitializedCapacity: total) { out, initialized in
                    let (m, x, out) = (UnsafeSendablePointer(m.baseAddress), UnsafeSendablePointer(x.baseAddress), UnsafeSendablePointer(out.baseAddress))
                    let parts = threadsFor(elements: total, units: total, threads: MatrixBackend.current.threads)
                    forEachSlice(of: total, parts: parts) { _, slice in
                        var position = slice.lowerBound, offset = position % n
                        while position < slice.upperBound {
                            let run = Swift.min(n - offset, slice.upperBound - position)
                            let (source, target, step) = (m.pointer + position, out.pointer + position, x.pointer + offset)
                            for i in 0..<run { target[i] = source[i] * (step[i] > 0 ? above : atOrBelow) }
                            position += run
                            offset = 0
                        }
                    }
                    initialized = total
                }
            }
        }
        return Tensor(unchecked: shape, scalars: result)
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
