/// Everything quantities read out at one parameter of one layer, computed lazily and shared:
/// when several quantities need the per-sample gradients, they are formed once.
public final class ParameterContext<Scalar: TensorScalar> {
    public let visit: LayerVisit<Scalar>
    /// The parameter's local name (`weight`).
    public let parameter: String
    /// The gradient w.r.t. the layer output, `[N, *out]`.
    public let outputGradient: Tensor<Scalar>

    private var summed: Tensor<Scalar>?
    private var perSample: [[Int]?: Tensor<Scalar>] = [:]
    private var factors: [[Int]?: OuterProductFactors<Scalar>?] = [:]

    init(visit: LayerVisit<Scalar>, parameter: String, outputGradient: Tensor<Scalar>) {
        self.visit = visit
        self.parameter = parameter
        self.outputGradient = outputGradient
    }

    /// The gradient w.r.t. the parameter: the sum of the per-sample gradients where a quantity
    /// has formed them from sums over many positions (a convolution's: the product would do that
    /// work again), else one transposed-Jacobian product summed over the samples (for a `Linear`
    /// layer, reading the per-sample gradients again costs more than the product).
    public func gradient() throws -> Tensor<Scalar> {
        if let summed { return summed }
        let gradient: Tensor<Scalar>
        if let cached = perSample[nil], try (outerProductShape()?.positions ?? 0) >= Self.positionsWorthSumming {
            gradient = try cached.sum(axes: [0])
        } else {
            gradient = try visit.layer.transposedParameterJacobianProduct(
                outputGradient.unsqueezed(at: 0), parameter: parameter, io: visit.io, sumOverSamples: true, subsampling: nil
            ).squeezed(at: 0)
        }
        summed = gradient
        return gradient
    }

    /// From this many positions per sample, summing cached per-sample gradients (memory speed,
    /// one read) beats the product (`2·positions` flops per element of them).
    static var positionsWorthSumming: Int { 4 }

    /// The batch size `N`.
    public var batchSize: Int { visit.io.batchSize }

    /// The parameter's full name, e.g. `2.0.weight`.
    public var name: String { visit.path + parameter }

    /// Checks sub-sampling indices against the batch.
    public func validate(_ subsampling: [Int]?, quantity: String) throws {
        if let bad = subsampling?.first(where: { $0 < 0 || $0 >= batchSize }) {
            throw QuantityError.invalidArgument(quantity: quantity, reason: "sub-sampling index \(bad) is outside the batch of \(batchSize)")
        }
    }

    /// The per-sample gradients `[M, *θ]` of the samples `subsampling` (all when `nil`), in that
    /// order, from one batched transposed-Jacobian product.
    public func perSampleGradients(_ subsampling: [Int]? = nil) throws -> Tensor<Scalar> {
        if let cached = perSample[subsampling] { return cached }
        let delta = try outputGradient.samples(subsampling)
        let gradients = try visit.layer.transposedParameterJacobianProduct(
            delta.unsqueezed(at: 0), parameter: parameter, io: visit.io, sumOverSamples: false, subsampling: subsampling
        ).squeezed(at: 0)
        perSample[subsampling] = gradients
        return gradients
    }

    /// The sizes of the outer-product factors, if the layer has that structure; cheap.
    public func outerProductShape() throws -> OuterProductShape? {
        try (visit.layer as? any OuterProductStructure<Scalar>)?.outerProductShape(parameter: parameter, io: visit.io)
    }

    /// The outer-product factors of the per-sample gradients, if the layer has that structure.
    public func outerProductFactors(_ subsampling: [Int]? = nil) throws -> OuterProductFactors<Scalar>? {
        if let cached = factors[subsampling] { return cached }
        var result: OuterProductFactors<Scalar>?
        if let layer = visit.layer as? any OuterProductStructure<Scalar> {
            result = try layer.outerProductFactors(outputGradient.samples(subsampling), parameter: parameter, io: visit.io, subsampling: subsampling)
        }
        factors[subsampling] = result
        return result
    }
}
