/// Each parameter's diagonal block of the Hessian of the reduced loss as an exact
/// matrix-free product (BackPACK's `HMP`, field `hmp`; bpexts' `cvp` with `"none"`).
public struct HMP<Scalar: TensorScalar>: Quantity {
    public init() {}
    public var field: String { "hmp" }
    public var propagation: CurvatureProducts<Scalar> { CurvatureProducts(.hessian) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: OutputCurvature<Scalar>) throws -> CurvatureBlock<Scalar> {
        try context.curvatureBlock(arrived)
    }
}
