import CRucksackKernels

/// The instruction sets Rucksack's built-in matrix kernels are compiled for. The best one the CPU
/// supports is picked at run time, so a default (baseline x86-64) build still runs AVX-512 code.
public enum BuiltinInstructionSet: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case baseline = 0
    case avx2 = 1
    case avx512 = 2

    /// The best set this CPU and operating system support: the built-in backend's default.
    public static let best = BuiltinInstructionSet(rawValue: Int(rk_gemm_max_isa())) ?? .baseline

    /// The sets this CPU and operating system support.
    public static var supported: [BuiltinInstructionSet] { allCases.filter { $0 <= best } }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { ["SSE2", "AVX2+FMA", "AVX-512"][rawValue] }
}
