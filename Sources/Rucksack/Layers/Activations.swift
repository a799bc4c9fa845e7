import RealModule

// Element-wise activations with `torch.nn` semantics and defaults.

/// `max(0, x)`; `f'(0) = 0` as in PyTorch.
public struct ReLU<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "ReLU" }
    public func value(_ x: Scalar) -> Scalar { x > 0 || x.isNaN ? x : 0 }
    public func derivative(_ x: Scalar) -> Scalar { x > 0 ? 1 : 0 }
    public func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.rectified() }
    public func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.step(atOrBelowZero: 0, aboveZero: 1) }
    public func scaledByDerivatives(_ m: Tensor<Scalar>, at x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try m.scaledByStep(of: x, atOrBelowZero: 0, aboveZero: 1)
    }
}

/// `x` for `x > 0`, else `negativeSlope · x`.
public struct LeakyReLU<Scalar: TensorScalar>: ElementwiseActivation {
    public var negativeSlope: Scalar
    public init(negativeSlope: Scalar = 0.01) { self.negativeSlope = negativeSlope }
    public var typeName: String { "LeakyReLU" }
    public func value(_ x: Scalar) -> Scalar { x > 0 ? x : negativeSlope * x }
    public func derivative(_ x: Scalar) -> Scalar { x > 0 ? 1 : negativeSlope }
    public func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.rectified(negativeSlope: negativeSlope) }
    public func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.step(atOrBelowZero: negativeSlope, aboveZero: 1) }
    public func scaledByDerivatives(_ m: Tensor<Scalar>, at x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try m.scaledByStep(of: x, atOrBelowZero: negativeSlope, aboveZero: 1)
    }
}

/// The logistic function.
public struct Sigmoid<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "Sigmoid" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { Scalar.logistic(x) }
    public func derivative(_ x: Scalar) -> Scalar { let s = Scalar.logistic(x); return s * (1 - s) }
    public func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.sigmoid() }
    public func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { let s = x.sigmoid(); return try s * (1 - s) }
    public func secondDerivative(_ x: Scalar) -> Scalar { let s = Scalar.logistic(x); return s * (1 - s) * (1 - 2 * s) }
}

public struct Tanh<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "Tanh" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { .tanh(x) }
    public func derivative(_ x: Scalar) -> Scalar { let t = Scalar.tanh(x); return 1 - t * t }
    public func values(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { x.tanh() }
    public func derivatives(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> { 1 - x.tanh().squared() }
    public func secondDerivative(_ x: Scalar) -> Scalar { let t = Scalar.tanh(x); return -2 * t * (1 - t * t) }
}

/// `log σ(x) = −softplus(−x)`.
public struct LogSigmoid<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "LogSigmoid" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { x < 0 ? x - .log(onePlus: .exp(x)) : -.log(onePlus: .exp(-x)) }
    public func derivative(_ x: Scalar) -> Scalar { Scalar.logistic(-x) }
    public func secondDerivative(_ x: Scalar) -> Scalar { let s = Scalar.logistic(x); return -s * (1 - s) }
}

/// `x` for `x > 0`, else `α(eˣ − 1)`.
public struct ELU<Scalar: TensorScalar>: ElementwiseActivation {
    public var alpha: Scalar
    public init(alpha: Scalar = 1) { self.alpha = alpha }
    public var typeName: String { "ELU" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { x > 0 ? x : alpha * .expMinusOne(x) }
    public func derivative(_ x: Scalar) -> Scalar { x > 0 ? 1 : alpha * .exp(x) }
    public func secondDerivative(_ x: Scalar) -> Scalar { x > 0 ? 0 : alpha * .exp(x) }
}

/// Scaled ELU with PyTorch's fixed constants.
public struct SELU<Scalar: TensorScalar>: ElementwiseActivation {
    static var alpha: Scalar { 1.6732632423543772848170429916717 }
    static var scale: Scalar { 1.0507009873554804934193349852946 }
    public init() {}
    public var typeName: String { "SELU" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { Self.scale * (x > 0 ? x : Self.alpha * .expMinusOne(x)) }
    public func derivative(_ x: Scalar) -> Scalar { Self.scale * (x > 0 ? 1 : Self.alpha * .exp(x)) }
    public func secondDerivative(_ x: Scalar) -> Scalar { x > 0 ? 0 : Self.scale * Self.alpha * .exp(x) }
}

/// `log(1 + e^{βx}) / β`, linear where `βx > threshold`.
public struct Softplus<Scalar: TensorScalar>: ElementwiseActivation {
    public var beta: Scalar
    public var threshold: Scalar
    public init(beta: Scalar = 1, threshold: Scalar = 20) {
        self.beta = beta
        self.threshold = threshold
    }
    public var typeName: String { "Softplus" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { beta * x > threshold ? x : .log(onePlus: .exp(beta * x)) / beta }
    public func derivative(_ x: Scalar) -> Scalar { beta * x > threshold ? 1 : Scalar.logistic(beta * x) }
    public func secondDerivative(_ x: Scalar) -> Scalar {
        guard beta * x <= threshold else { return 0 }
        let s = Scalar.logistic(beta * x)
        return beta * s * (1 - s)
    }
}

/// `x Φ(x)` with the exact Gaussian CDF (`approximate="none"`).
///
/// At ±∞ it takes its limits (value 0 and +∞, derivative 0 and 1), where PyTorch's `0 · ∞`
/// gives NaN.
public struct GELU<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "GELU" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { x.isInfinite ? Swift.max(x, 0) : x * gaussianCDF(x) }
    public func derivative(_ x: Scalar) -> Scalar { x.isInfinite ? (x > 0 ? 1 : 0) : gaussianCDF(x) + x * gaussianDensity(x) }
    public func secondDerivative(_ x: Scalar) -> Scalar { x.isInfinite ? 0 : gaussianDensity(x) * (2 - x * x) }
}

/// `x σ(x)`, with its limits at ±∞ as ``GELU``.
public struct SiLU<Scalar: TensorScalar>: ElementwiseActivation {
    public init() {}
    public var typeName: String { "SiLU" }
    public var inputHessianStructure: InputHessianStructure { .diagonal }
    public func value(_ x: Scalar) -> Scalar { x.isInfinite ? Swift.max(x, 0) : x * Scalar.logistic(x) }
    public func derivative(_ x: Scalar) -> Scalar {
        guard !x.isInfinite else { return x > 0 ? 1 : 0 }
        let s = Scalar.logistic(x)
        return s * (1 + x * (1 - s))
    }
    public func secondDerivative(_ x: Scalar) -> Scalar {
        guard !x.isInfinite else { return 0 }
        let s = Scalar.logistic(x)
        return s * (1 - s) * (2 + x * (1 - 2 * s))
    }
}

func gaussianCDF<Scalar: TensorScalar>(_ x: Scalar) -> Scalar { (1 + .erf(x / Scalar.sqrt(2))) / 2 }

func gaussianDensity<Scalar: TensorScalar>(_ x: Scalar) -> Scalar { .exp(-x * x / 2) / Scalar.sqrt(2 * .pi) }
