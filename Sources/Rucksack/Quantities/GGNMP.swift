/// Each parameter's diagonal block of the generalized Gauss–Newton matrix as an exact
/// matrix-free product (BackPACK's `GGNMP`, field `ggnmp`; bpexts' `cvp` with `"zero"`).
public struct GGNMP<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "ggnmp" }
    public var propagation: CurvatureProducts<Scalar> { CurvatureProducts(.ggn) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: OutputCurvature<Scalar>) throws -> CurvatureBlock<Scalar> {
        try context.curvatureBlock(arrived)
    }
}
