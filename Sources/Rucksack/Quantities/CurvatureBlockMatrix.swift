/// The blocks of a block-product quantity (``HMP``, ``GGNMP``, ``PCHMP``, ``HBP``) as dense
/// `[|θ|, |θ|]` matrices in row-major flattening, under a field of their own (`hessian_block`,
/// `hbp_ggn_block`, …): the products with the unit vectors.
public struct CurvatureBlockMatrix<Blocks: Quantity>: Quantity where Blocks.Value == CurvatureBlock<Blocks.Scalar> {
    public typealias Scalar = Blocks.Scalar
    public var blocks: Blocks
    public var field: String

    public init(_ blocks: Blocks, field: String) {
        self.blocks = blocks
        self.field = field
    }

    public var propagation: Blocks.Propagated { blocks.propagation }

    public func readOut(_ context: ParameterContext<Scalar>, arrived: Blocks.Propagated.Carried) throws -> Tensor<Scalar> {
        try blocks.readOut(context, arrived: arrived).denseMatrix()
    }

    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.total(parameterShapes) { shape in
            let size = try ResultSize.count(shape)
            return try CheckedArithmetic("result size").product(size, size)
        }
    }
}
