/// A quantity that one backward pass computes besides the gradient, such as per-sample
/// gradients (BackPACK calls these extensions).
///
/// A quantity says what it carries from the loss back through the layers, how values from
/// branches that share an input combine, and what it reads out at each parameter. It uses
/// only the layers' derivative products, so adding a quantity never touches a layer.
/// First-order quantities carry nothing and only read out, from the gradient that reaches
/// the layer's output (``ParameterContext``).
public protocol Quantity<Scalar>: Sendable {
    associatedtype Scalar: TensorScalar
    /// What travels backwards; ``NothingCarried`` for first-order quantities.
    associatedtype Carried: Sendable = NothingCarried

    /// BackPACK's field name (`grad_batch`, `batch_l2`, …): results are `<param>.<field>`.
    var field: String { get }

    /// The value at the model output.
    func start(_ loss: LossContext<Scalar>) throws -> Carried

    /// Moves the value from a layer's output to its input.
    func backpropagate(_ value: Carried, through visit: LayerVisit<Scalar>) throws -> Carried

    /// Combines the values returned by the branches of a parallel node.
    func merge(_ first: Carried, _ second: Carried) throws -> Carried

    /// The result for one parameter, given the value that arrived at the layer's output.
    func readOut(_ context: ParameterContext<Scalar>, arrived: Carried) throws -> Tensor<Scalar>

    /// The elements the results take for parameters of these shapes and a batch of `batchSize`,
    /// estimated before the pass so that one that cannot fit is refused up front; `nil` when
    /// the count overflows. The default, one element per parameter entry, suits results shaped
    /// like the parameters.
    func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int?
}

extension Quantity {
    public func resultElements(parameterShapes: [[Int]], batchSize: Int) -> Int? {
        ResultSize.total(parameterShapes) { try ResultSize.count($0) }
    }
}

/// Overflow-checked element counts for ``Quantity/resultElements(parameterShapes:batchSize:)``.
public enum ResultSize {
    /// The elements of a shape.
    public static func count(_ shape: [Int]) throws -> Int {
        try shape.reduce(1, CheckedArithmetic("result size").product)
    }

    /// `perParameter` summed over the parameters, or `nil` on overflow.
    public static func total(_ shapes: [[Int]], _ perParameter: ([Int]) throws -> Int) -> Int? {
        try? shapes.reduce(0) { try CheckedArithmetic("result size").sum($0, perParameter($1)) }
    }
}

/// The carried value of first-order quantities.
public struct NothingCarried: Sendable {
    public init() {}
}

extension Quantity where Carried == NothingCarried {
    public func start(_ loss: LossContext<Scalar>) throws -> NothingCarried { NothingCarried() }
    public func backpropagate(_ value: NothingCarried, through visit: LayerVisit<Scalar>) throws -> NothingCarried { value }
    public func merge(_ first: NothingCarried, _ second: NothingCarried) throws -> NothingCarried { first }
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
    /// Results that would take more than `MemoryBudget.limit`; `bytes` is `nil` on overflow.
    case exceedsMemoryLimit(quantity: String, batchSize: Int, bytes: Int?, limit: Int)

    public var description: String {
        switch self {
        case let .unsupported(layer, quantity, reason): "\(quantity) is not available for layer \(layer): \(reason)"
        case let .invalidArgument(quantity, reason): "\(quantity): \(reason)"
        case let .exceedsMemoryLimit(quantity, batchSize, bytes, limit):
            "\(quantity) for \(batchSize) samples needs \(MemoryBudget.describe(bytes)) for its results, over the memory limit of "
                + "\(MemoryBudget.describe(limit)); use fewer samples (sub-sampling) or raise the limit (rucksack compute --memory-limit)"
        }
    }
}
