/// Each parameter's exact diagonal curvature block as a dense `[|θ|, |θ|]` matrix in row-major
/// flattening (fields `hessian_block`, `ggn_block`, `pch_abs_block`, `pch_clip_block`): the
/// products of ``HMP``, ``GGNMP`` or ``PCHMP`` with the unit vectors.
public struct CurvatureBlockMatrix<Scalar: TensorScalar>: Quantity {
    public var curvature: CurvatureKind

    public init(_ curvature: CurvatureKind) { self.curvature = curvature }
    public var field: String { curvature.rawValue + "_block" }
    public var propagation: CurvatureProducts<Scalar> { CurvatureProducts(curvature) }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: OutputCurvature<Scalar>) throws -> Tensor<Scalar> {
        try context.curvatureBlock(arrived).denseMatrix()
    }

    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.total(parameterShapes) { shape in
            let size = try ResultSize.count(shape)
            return try CheckedArithmetic("result size").product(size, size)
        }
    }
}
