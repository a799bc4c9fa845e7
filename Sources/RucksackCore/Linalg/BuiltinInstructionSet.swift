import CRucksackKernels

/// The instruction sets Rucksack's built-in matrix kernels are compiled for. The best one the CPU
/// supports is picked at run time, so a default (baseline x86-64) build still runs AVX-512 code.
public enum BuiltinInstructionSet: Int, Sendable, CaseIterable, CustomStringConvertible {
    case baseline = 0
    case avx2 = 1
    case avx512 = 2

    /// The set in use.
    public static var active: BuiltinInstructionSet { BuiltinInstructionSet(rawValue: Int(rk_gemm_isa())) ?? .baseline }

    /// The sets this CPU and operating system support.
    public static var supported: [BuiltinInstructionSet] { allCases.filter { $0.rawValue <= Int(rk_gemm_max_isa()) } }

    /// Makes the built-in kernels use `set` from now on (for tests and benchmarks); returns
    /// `false` when the CPU lacks it. This is process-wide.
    @discardableResult
    public static func select(_ set: BuiltinInstructionSet) -> Bool { rk_gemm_set_isa(Int32(set.rawValue)) == 0 }

    public var description: String { ["SSE2", "AVX2+FMA", "AVX-512"][rawValue] }
}
