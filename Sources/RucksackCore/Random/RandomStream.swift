/// A seeded source of random numbers that yields the same stream on every run and platform.
///
/// The generator is xoshiro256** seeded through SplitMix64. Floating-point samples use only
/// IEEE-exact operations (`+ - * /` and `sqrt`) plus ``deterministicLog(_:)``, so they do not
/// depend on the platform's maths library.
public struct RandomStream: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a stream from a seed; equal seeds give equal streams.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, by: 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, by: 45)
        return result
    }

    /// A uniform sample from `[0, 1)` with all 53 bits of a `Double`.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal sample by Marsaglia's polar method.
    public mutating func nextStandardNormal() -> Double {
        while true {
            let u = 2 * nextUnitDouble() - 1
            let v = 2 * nextUnitDouble() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * RandomStream.deterministicLog(s) / s).squareRoot()
            }
        }
    }

    /// A tensor of samples uniform on `[low, high)`.
    public mutating func uniform<Scalar: TensorScalar>(
        shape: [Int], low: Scalar = 0, high: Scalar = 1
    ) throws -> Tensor<Scalar> {
        try samples(shape: shape, operation: "uniform") { stream in
            let value = low + (high - low) * Scalar(stream.nextUnitDouble())
            return value < high ? value : low  // rounding of `high - low` could reach `high`
        }
    }

    /// A tensor of normal samples with the given mean and standard deviation.
    public mutating func normal<Scalar: TensorScalar>(
        shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1
    ) throws -> Tensor<Scalar> {
        try samples(shape: shape, operation: "normal") { stream in
            mean + standardDeviation * Scalar(stream.nextStandardNormal())
        }
    }

    /// A tensor of 0/1 samples, 1 with probability `probabilities[i]` (which must lie in `[0, 1]`).
    public mutating func bernoulli<Scalar: TensorScalar>(probabilities: Tensor<Scalar>) throws -> Tensor<Scalar> {
        if let bad = probabilities.scalars.first(where: { !($0 >= 0 && $0 <= 1) }) {
            throw TensorError.invalidArgument(operation: "bernoulli", reason: "probability \(bad) is outside [0, 1]")
        }
        var result = probabilities
        for i in result.scalars.indices {
            result.scalars[i] = nextUnitDouble() < Double(probabilities.scalars[i]) ? 1 : 0
        }
        return result
    }

    /// One class index per row of `probabilities` (`[..., C]`, non-negative, rows need not be
    /// normalised), drawn by inverting the cumulative distribution. The result has shape
    /// `probabilities.shape.dropLast()` in row-major order.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func categorical<Scalar: TensorScalar>(probabilities: Tensor<Scalar>) throws -> [Int] {
        let operation = "categorical"
        guard let classes = probabilities.shape.last, classes > 0 else {
            throw TensorError.invalidShape(
                operation: operation, shape: probabilities.shape, reason: "needs a last axis of at least one class")
        }
        var indices: [Int] = []
        for start in stride(from: 0, to: probabilities.count, by: classes) {
            let row = probabilities.scalars[start..<(start + classes)].map(Double.init)
            let total = row.reduce(0, +)
            guard row.allSatisfy({ $0 >= 0 && $0.isFinite }), total > 0 else {
                throw TensorError.invalidArgument(
                    operation: operation, reason: "row \(start / classes) is not a finite non-negative distribution")
            }
            let target = nextUnitDouble() * total
            var cumulative = 0.0
            var chosen = classes - 1
            for (c, p) in row.enumerated() {
                cumulative += p
                if target < cumulative && p > 0 { chosen = c; break }
            }
            while row[chosen] == 0 { chosen -= 1 }  // never return a class of probability zero
            indices.append(chosen)
        }
        return indices
    }

    private mutating func samples<Scalar: TensorScalar>(
        shape: [Int], operation: String, _ draw: (inout RandomStream) -> Scalar
    ) throws -> Tensor<Scalar> {
        let count = try Tensor<Scalar>.elementCount(of: shape, operation: operation)
        var values = [Scalar]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(draw(&self)) }
        return try Tensor(shape: shape, scalars: values)
    }

    /// Natural logarithm for `x > 0` from IEEE-exact operations only, within 4 ulp
    /// of the C library's `log` (what matters here is that every platform gets the same bits).
    static func deterministicLog(_ x: Double) -> Double {
        // x = m · 2^e with m in [√½, √2); log m = 2 atanh(t), t = (m - 1)/(m + 1), |t| < 0.172.
        var m = x.significand
        var e = Double(x.exponent)
        if m > 2.0.squareRoot() { m /= 2; e += 1 }
        let t = (m - 1) / (m + 1)
        let t2 = t * t
        var term = t
        var series = 0.0
        var k = 1.0
        while true {
            let next = series + term / k
            if next == series { break }
            series = next
            term *= t2
            k += 2
        }
        return 2 * series + e * 0.693_147_180_559_945_309_417_232_121_458
    }

    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
