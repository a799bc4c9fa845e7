import Rucksack
import RucksackTestSupport
import Testing

/// Damped inverses of factor lists, checked against the dense matrix in Float64.
@Suite("Kronecker inverses")
struct KroneckerInverseTests {
    static let tolerance = Tolerance(relative: 1e-10, absolute: 1e-12)

    /// A weight block `B ⊗ A`, a bias block `B` and a two-group block, each factor `M Mᵀ + εI`.
    static func factors(_ data: inout TestData) throws -> KroneckerFactors<Double> {
        func spd(_ n: Int, scale: Double) throws -> Tensor<Double> {
            let m: Tensor<Double> = data.tensor([n, n + 1])
            return try m.matmul(m, transposingOther: true) * Tensor(scale) + Tensor.identity(n) * Tensor(1e-3)
        }
        return KroneckerFactors(blocks: [[try spd(3, scale: 5), try spd(4, scale: 0.1)], [try spd(2, scale: 1)], [try spd(2, scale: 2), try spd(3, scale: 1)]])
    }

    static func identityScalars(_ n: Int) -> [Double] { (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 } }

    @Test("the eigenbasis gives (F + λI)⁻¹ exactly, and the eigenvalues of each block")
    func exactDampedInverse() throws {
        var data = TestData(seed: 90)
        let factors = try Self.factors(&data)
        let n = factors.size
        let dense = try factors.denseMatrix()
        let damping = 0.3
        let vectors: Tensor<Double> = data.tensor([5, n])
        let decomposition = try factors.eigendecomposition()
        let solved = try decomposition.applyDampedInverse(vectors, damping: damping)
        let damped = try dense + Tensor.identity(n) * Tensor(damping)
        expectClose(try solved.matmul(damped, transposingOther: true).scalars, vectors.doubles, Self.tolerance, "(F + λI) · result")
        expectClose(try decomposition.apply(vectors) { $0 }.scalars, try factors.apply(vectors).doubles, Self.tolerance, "f = identity")
        var offset = 0
        for (index, values) in try decomposition.blockEigenvalues().enumerated() {
            let side = factors.blockSizes[index]
            let block = try dense.sliced(axis: 0, range: offset..<(offset + side)).sliced(axis: 1, range: offset..<(offset + side))
            expectClose(values.scalars.sorted(), try block.symmetricEigendecomposition(backend: .builtin).eigenvalues.doubles,
                        Self.tolerance, "eigenvalues of block \(index)")
            offset += side
        }
    }

    @Test("π-damping: each factor damped in proportion to its mean eigenvalue, the shifts multiplying to λ")
    func piDamping() throws {
        var data = TestData(seed: 91)
        let factors = try Self.factors(&data)
        let damping = 0.05
        let inverse = try factors.piDampedInverse(damping: damping)
        // Martens & Grosse's two-factor form, written out: A + π√λ I and B + √λ/π I.
        func mean(_ f: Tensor<Double>) -> Double { (0..<f.shape[0]).reduce(0) { $0 + f.scalars[$1 * f.shape[0] + $1] } / Double(f.shape[0]) }
        var expected: [[Tensor<Double>]] = []
        for block in factors.blocks {
            if block.count == 1 {
                expected.append([try block[0] + Tensor.identity(block[0].shape[0]) * Tensor(damping)])
                continue
            }
            let (b, a) = (block[0], block[1])
            let pi = (mean(a) / mean(b)).squareRoot()
            expected.append([try b + Tensor.identity(b.shape[0]) * Tensor(damping.squareRoot() / pi),
                             try a + Tensor.identity(a.shape[0]) * Tensor(damping.squareRoot() * pi)])
        }
        let product = try inverse.denseMatrix().matmul(try KroneckerFactors(blocks: expected).denseMatrix())
        expectClose(product.scalars, Self.identityScalars(factors.size), Self.tolerance.times(100), "inverse · damped matrix")
    }

    @Test("damping must be positive", arguments: [0.0, -1.0, .nan, .infinity])
    func damping(_ value: Double) throws {
        var data = TestData(seed: 92)
        let factors = try Self.factors(&data)
        #expect(throws: TensorError.self) { try factors.piDampedInverse(damping: value) }
        #expect(throws: TensorError.self) { try factors.eigendecomposition().applyDampedInverse(Tensor(zeros: [factors.size]), damping: value) }
    }
}
