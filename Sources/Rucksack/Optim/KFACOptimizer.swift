/// Natural-gradient descent with Kronecker-factored curvature (Martens & Grosse, 2015): each
/// parameter moves by `−learningRate · F̃⁻¹ g`, with `F̃` the π-damped running average of its
/// Kronecker factors (``KFAC``, ``KFLR`` or ``KFRA``) and `g` its gradient.
///
/// The running average starts at the first step's factors and then follows
/// `F̄ ← β F̄ + (1 − β) F` factor by factor; the damped inverses
/// (``KroneckerFactors/piDampedInverse(damping:backend:)``) are recomputed every
/// `inverseInterval` steps and reused between. Compute ``factors`` in the same pass as the
/// gradient and hand the results to ``step(_:results:)``.
public struct KFACOptimizer<Factors: Quantity>: Sendable where Factors.Value == KroneckerFactors<Factors.Scalar> {
    public typealias Scalar = Factors.Scalar
    public var factors: Factors
    public var learningRate: Scalar
    /// `λ > 0`, added to the factors by π-damping.
    public var damping: Scalar
    /// `β ∈ [0, 1)`; 0 uses each step's factors alone.
    public var runningAverage: Scalar
    public var inverseInterval: Int
    private var steps = 0
    private var averages: [String: KroneckerFactors<Scalar>] = [:]
    private var inverses: [String: KroneckerFactors<Scalar>] = [:]

    public init(factors: Factors, learningRate: Scalar, damping: Scalar, runningAverage: Scalar = 0.95, inverseInterval: Int = 1) throws {
        guard learningRate > 0, damping > 0, (0..<1).contains(runningAverage), inverseInterval > 0 else {
            throw QuantityError.invalidArgument(
                quantity: "KFAC optimizer", reason: "needs a positive learning rate and damping, a running average in [0, 1) and an inverse interval of at least 1")
        }
        self.factors = factors
        self.learningRate = learningRate
        self.damping = damping
        self.runningAverage = runningAverage
        self.inverseInterval = inverseInterval
    }

    public mutating func step(_ model: inout Model<Scalar>, results: BackpropResults<Scalar>) throws {
        let refresh = steps % inverseInterval == 0
        for name in model.parameterNames {
            guard let gradient = results.gradients[name], let current = results[factors, name] else {
                throw QuantityError.invalidArgument(quantity: "KFAC optimizer", reason: "the results lack the gradient or \(factors.field) of \(name); compute `factors` in the pass")
            }
            let average = try averages[name].map { previous in
                KroneckerFactors(blocks: try zip(previous.blocks, current.blocks).map { old, new in
                    try zip(old, new).map { try $0 * runningAverage + $1 * (1 - runningAverage) }
                })
            } ?? current
            averages[name] = average
            if refresh || inverses[name] == nil { inverses[name] = try average.piDampedInverse(damping: damping) }
            let direction = try inverses[name]!.apply(gradient.reshaped([gradient.count])).reshaped(gradient.shape)
            try model.setParameter(name, to: model.parameter(name) - direction * learningRate)
        }
        steps += 1
    }
}
