import RealModule

/// The element types a ``Tensor`` can hold: `Float` and `Double`.
///
/// Besides the arithmetic of `Real` (and SIMD vectors of it, for reductions), a scalar type knows
/// its file data type.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Codable, Sendable, CustomStringConvertible {
    /// The data type written to safetensors and `.npy` files for this scalar.
    static var dataType: DType { get }
}

extension Float: TensorScalar {
    public static var dataType: DType { .float32 }
}

extension Double: TensorScalar {
    public static var dataType: DType { .float64 }
}
