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
        var factorLists: [String: KroneckerFactors<Scalar>] = [:]
        for name in model.parameterNames {
            guard let current = results[factors, name] else {
                throw QuantityError.invalidArgument(quantity: "KFAC optimizer", reason: "the results lack \(factors.field) of \(name); compute `factors` in the pass")
            }
            factorLists[name] = current
        }
        try step(&model, gradients: results.gradients, factors: factorLists)
    }

    /// One step from given gradients and factors (for data-parallel training: both averaged over processes).
    public mutating func step(_ model: inout Model<Scalar>, gradients: [String: Tensor<Scalar>], factors factorLists: [String: KroneckerFactors<Scalar>]) throws {
        let refresh = steps % inverseInterval == 0
        for name in model.parameterNames {
            guard let gradient = gradients[name], let current = factorLists[name] else {
                throw QuantityError.invalidArgument(quantity: "KFAC optimizer", reason: "the gradient or the factors of \(name) are missing")
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

extension KFACOptimizer: StatefulOptimizer {
    /// `step`, and per parameter its running average and damped inverse as
    /// `average.<parameter>.<block>.<factor>` and `inverse.<parameter>.<block>.<factor>`.
    public func savedState() throws -> [String: Tensor<Scalar>] {
        var state = ["step": try Self.savedCount(steps)]
        for (prefix, lists) in [("average", averages), ("inverse", inverses)] {
            for (name, factors) in lists {
                for (b, block) in factors.blocks.enumerated() {
                    for (f, factor) in block.enumerated() { state["\(prefix).\(name).\(b).\(f)"] = factor }
                }
            }
        }
        return state
    }

    public mutating func restoreState(_ state: [String: Tensor<Scalar>]) throws {
        let entries = try Self.entries(state, prefixes: ["average", "inverse"], optimizer: "KFAC optimizer")
        func lists(_ prefix: String) throws -> [String: KroneckerFactors<Scalar>] {
            var indexed: [String: [Int: [Int: Tensor<Scalar>]]] = [:]
            for (key, tensor) in entries[prefix] ?? [:] {
                // `<parameter>.<block>.<factor>`: parameter names hold dots themselves.
                let parts = key.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count >= 3, let b = Int(parts[parts.count - 2]), let f = Int(parts[parts.count - 1]), b >= 0, f >= 0 else {
                    throw QuantityError.invalidArgument(quantity: "KFAC optimizer", reason: "saved state '\(prefix).\(key)' is not <parameter>.<block>.<factor>")
                }
                indexed[parts.dropLast(2).joined(separator: "."), default: [:]][b, default: [:]][f] = tensor
            }
            return try indexed.mapValues { blocks in
                guard blocks.keys.sorted() == Array(0..<blocks.count), blocks.values.allSatisfy({ $0.keys.sorted() == Array(0..<$0.count) }) else {
                    throw QuantityError.invalidArgument(quantity: "KFAC optimizer", reason: "saved \(prefix) factors are not numbered 0, 1, … without gaps")
                }
                return KroneckerFactors(blocks: (0..<blocks.count).map { b in (0..<blocks[b]!.count).map { blocks[b]![$0]! } })
            }
        }
        (averages, inverses) = (try lists("average"), try lists("inverse"))
        steps = try Self.restoredCount(state, optimizer: "KFAC optimizer")
    }
}
