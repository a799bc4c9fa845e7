/// A quantity that one backward pass computes besides the gradient, such as per-sample
/// gradients (BackPACK calls these extensions).
///
/// A quantity names the ``Propagation`` it reads out from (what travels from the loss back
/// through the layers, and how branches combine) and what it reads out at each parameter. It
/// uses only the layers' derivative products, so adding a quantity never touches a layer.
/// First-order quantities propagate nothing and only read out, from the gradient that reaches
/// the layer's output (``ParameterContext``). Quantities are values: equal ones (same type and
/// settings) are the same request, and results are read back by the quantity itself.
public protocol Quantity<Scalar>: Sendable, Hashable {
    associatedtype Scalar: TensorScalar
    /// What travels backwards; ``NoPropagation`` for first-order quantities.
    associatedtype Propagated: Propagation<Scalar> = NoPropagation<Scalar>
    /// The result per parameter: a tensor, or e.g. ``KroneckerFactors``.
    associatedtype Value: QuantityValue<Scalar> = Tensor<Scalar>

    /// BackPACK's field name (`grad_batch`, `batch_l2`, …): results are `<param>.<field>`.
    var field: String { get }

    /// The propagation this quantity reads out from; equal propagations run once per pass.
    var propagation: Propagated { get }

    /// The result for one parameter, given the value that arrived at the layer's output.
    func readOut(_ context: ParameterContext<Scalar>, arrived: Propagated.Carried) throws -> Value

    /// The elements the results take for parameters of these shapes and a batch of `batchSize`,
    /// estimated before the pass so that one that cannot fit is refused up front; `nil` when
    /// the count overflows. The default, one element per parameter entry, suits results shaped
    /// like the parameters.
    func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int?

    /// The same once the model's output is known, with `outputFeatures` entries per sample:
    /// for results that grow with them (a GGN square root has a column per output feature).
    /// The default is ``resultElements(parameterShapes:batchSize:)``.
    func resultElements(parameterShapes: [[Int]], batchSize: Int, outputFeatures: Int) -> Int?
}

extension Quantity where Propagated == NoPropagation<Scalar> {
    public var propagation: NoPropagation<Scalar> { NoPropagation() }
}

extension Quantity {
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.total(parameterShapes) { try ResultSize.count($0) }
    }

    public func resultElements(parameterShapes: [[Int]], batchSize: Int, outputFeatures: Int) -> Int? {
        resultElements(parameterShapes: parameterShapes, batchSize: batchSize)
    }
}

/// Overflow-checked element counts for ``Quantity/resultElements(parameterShapes:batchSize:)``.
public enum ResultSize {
    /// The elements of a shape.
    public static func count(_ shape: [Int]) throws -> Int {
        try shape.reduce(1, CheckedArithmetic("result size").product)
    }

    /// `[samples, *θ]` per parameter, or `nil` on overflow.
    public static func perSample(_ shapes: [[Int]], samples: Int) -> Int? {
        total(shapes) { try CheckedArithmetic("result size").product(samples, count($0)) }
    }

    /// `[columns, samples, *θ]` per parameter (GGN square roots), or `nil` on overflow.
    public static func perColumnAndSample(_ shapes: [[Int]], columns: Int, samples: Int) -> Int? {
        let c = CheckedArithmetic("result size")
        return total(shapes) { try c.product(c.product(columns, samples), count($0)) }
    }

    /// Kronecker factors: the squares of the leading extent and of the rest, per parameter.
    public static func kroneckerFactors(_ shapes: [[Int]]) -> Int? {
        total(shapes) { shape in
            let c = CheckedArithmetic("result size")
            let rows = shape.first ?? 1, rest = try count(Array(shape.dropFirst()))
            return try c.sum(c.product(rows, rows), c.product(rest, rest))
        }
    }

    /// `perParameter` summed over the parameters, or `nil` on overflow.
    public static func total(_ shapes: [[Int]], _ perParameter: ([Int]) throws -> Int) -> Int? {
        try? shapes.reduce(0) { try CheckedArithmetic("result size").sum($0, perParameter($1)) }
    }
}

/// What the loss offers quantities that start at the model output.
public struct LossContext<Scalar: TensorScalar>: Sendable {
    public var loss: any Loss<Scalar>
    public var output: Tensor<Scalar>
    public var target: LossTarget<Scalar>
}

/// A quantity that a layer cannot provide, or another failure while reading it out.
public enum QuantityError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupported(layer: String, quantity: String, reason: String)
    case invalidArgument(quantity: String, reason: String)
    /// A dense matrix the quantity needs at a layer that would take more than `MemoryBudget.limit`.
    case denseMatrixTooLarge(layer: String, quantity: String, shape: [Int], bytes: Int?, limit: Int)
    /// Results that would take more than `MemoryBudget.limit`; `bytes` is `nil` on overflow.
    case exceedsMemoryLimit(quantity: String, batchSize: Int, bytes: Int?, limit: Int)

    public var description: String {
        switch self {
        case let .unsupported(layer, quantity, reason): "\(quantity) is not available for layer \(layer): \(reason)"
        case let .invalidArgument(quantity, reason): "\(quantity): \(reason)"
        case let .denseMatrixTooLarge(layer, quantity, shape, bytes, limit):
            "\(quantity) needs dense \(shape.map(String.init).joined(separator: "×")) matrices at layer \(layer): "
                + "\(MemoryBudget.describe(bytes)) for the three a sandwich holds at once, over the memory limit of \(MemoryBudget.describe(limit))"
        case let .exceedsMemoryLimit(quantity, batchSize, bytes, limit):
            "\(quantity) for \(batchSize) samples needs \(MemoryBudget.describe(bytes)) for its results, over the memory limit of "
                + "\(MemoryBudget.describe(limit)); use fewer samples (sub-sampling) or raise the limit (rucksack compute --memory-limit)"
        }
    }
}
