/// Each parameter's diagonal block of the positive-curvature Hessian as an exact matrix-free
/// product (BackPACK's `PCHMP`, field `pchmp`; bpexts' `cvp` with `"abs"` or `"clip"`): the
/// residual `f''(x) ⊙ δ` of curved layers made non-negative per sample and feature.
///
/// BackPACK multiplies its residual by `δ` once more (its spec §3.8); this uses `f''(x) ⊙ δ`.
public struct PCHMP<Scalar: TensorScalar>: Quantity {
    /// How the residual is made non-negative.
    public enum Modification: String, Sendable, Hashable {
        case abs, clip
    }

    public var modification: Modification

    public init(modification: Modification = .abs) { self.modification = modification }
    public var field: String { "pchmp" }
    public var propagation: CurvatureProducts<Scalar> { CurvatureProducts(modification == .abs ? .pchAbs : .pchClip) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: OutputCurvature<Scalar>) throws -> CurvatureBlock<Scalar> {
        try context.curvatureBlock(arrived)
    }
}
