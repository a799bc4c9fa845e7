import Rucksack

/// Which curvature blocks CGNewton solves with: exact matrix-free products (``GGNMP``,
/// ``PCHMP``) or Hessian backpropagation's batch-averaged approximations (``HBP``).
public enum CurvatureProducts: String, Sendable, CaseIterable {
    case exact, hbp
}

/// An optimizer with its hyper-parameters, as a run's settings name it.
public enum OptimizerSettings: Sendable, Equatable {
    /// `torch.optim.SGD` with momentum.
    case sgd(learningRate: Float, momentum: Float)
    /// `torch.optim.Adam`.
    case adam(learningRate: Float, beta1: Float, beta2: Float)
    /// ``KFACOptimizer`` on ``KFAC`` factors (one Monte Carlo sample, a new seed every step).
    case kfac(learningRate: Float, damping: Float, runningAverage: Float, inverseInterval: Int)
    /// ``CGNewton`` on GGN, PCH-abs or PCH-clip blocks, exact or by HBP with at most `maxBlocks` blocks per parameter.
    case cgNewton(CGNewtonSettings)

    /// The optimizer's name in configs and on the command line.
    public var name: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        case .kfac: "kfac"
        case .cgNewton: "cg-newton"
        }
    }
}

/// CGNewton's settings (HBP spec §5.2 and §6).
public struct CGNewtonSettings: Sendable, Equatable {
    /// ``CurvatureKind/ggn``, ``CurvatureKind/pchAbs`` or ``CurvatureKind/pchClip``.
    public var curvature: CurvatureKind
    public var products: CurvatureProducts
    /// HBP's splitting of each parameter into at most this many blocks; `nil`: one block.
    public var maxBlocks: Int?
    public var learningRate: Float
    public var alpha: Float
    public var maxIterations: Int
    public var relativeTolerance: Float
    public var absoluteTolerance: Float

    public init(curvature: CurvatureKind, products: CurvatureProducts, maxBlocks: Int? = nil, learningRate: Float, alpha: Float,
                maxIterations: Int = 50, relativeTolerance: Float = 0.1, absoluteTolerance: Float = 0) throws {
        guard curvature != .hessian else {
            throw ExperimentError.invalidSetting(key: "curvature", reason: "CGNewton needs a positive semi-definite curvature: ggn, pch-abs or pch-clip")
        }
        guard products == .hbp || maxBlocks == nil || maxBlocks == 1 else {
            throw ExperimentError.invalidSetting(key: "max_blocks", reason: "splitting into blocks needs HBP products (\"products\": \"hbp\")")
        }
        guard maxIterations > 0, (maxBlocks ?? 1) > 0 else {
            throw ExperimentError.invalidSetting(key: "cg_max_iterations", reason: "the iteration limit and max_blocks must be positive")
        }
        (self.curvature, self.products, self.maxBlocks, self.learningRate, self.alpha) = (curvature, products, maxBlocks, learningRate, alpha)
        (self.maxIterations, self.relativeTolerance, self.absoluteTolerance) = (maxIterations, relativeTolerance, absoluteTolerance)
    }
}

/// A configuration or a run that cannot go on.
public enum ExperimentError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSetting(key: String, reason: String)
    case invalidConfig(path: String, offset: Int, reason: String)
    case nonFiniteLoss(run: String, epoch: Int, step: Int)
    case invalidCheckpoint(path: String, reason: String)
    case invalidLog(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(key, reason): "setting '\(key)': \(reason)"
        case let .invalidConfig(path, offset, reason): "config \(path), byte offset \(offset): \(reason)"
        case let .nonFiniteLoss(run, epoch, step):
            "run \(run): the loss became NaN or infinite at step \(step) (epoch \(epoch)); lower the learning rate or raise the damping"
        case let .invalidCheckpoint(path, reason): "checkpoint \(path): \(reason)"
        case let .invalidLog(path, line, reason): "log \(path), line \(line): \(reason)"
        }
    }
}
