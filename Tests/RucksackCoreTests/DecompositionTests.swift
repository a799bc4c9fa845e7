import RucksackCore
import RucksackTestSupport
import Testing

/// The built-in decompositions and, where a library provides it, LAPACK: each against matrices
/// built from known eigenvalues, and against each other.
@Suite("symmetric decompositions")
struct DecompositionTests {
    struct Backend: CustomStringConvertible, Sendable {
        var backend: DecompositionBackend
        var description: String { backend.description }
    }

    static let backends: [Backend] = [Backend(backend: .builtin)] + (LAPACKLibrary.system.map { [Backend(backend: .lapack($0))] } ?? [])
    static let sides = [0, 1, 2, 3, 7, 40, 130]

    /// Float64 references of order-one matrices; LAPACK's Float routines round in Float.
    static func tolerance<S: TensorScalar>(_: S.Type) -> Tolerance {
        S.self == Float.self ? Tolerance(relative: 1e-5, absolute: 1e-6) : Tolerance(relative: 1e-12, absolute: 1e-14)
    }

    /// `Q diag(values) Qᵀ` with `Q` a product of random Householder reflections, in Float64.
    static func matrix(eigenvalues values: [Double], data: inout TestData) -> [Double] {
        let n = values.count
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        for _ in 0..<3 {
            let v: Tensor<Double> = data.tensor([n])
            let norm = v.scalars.reduce(0) { $0 + $1 * $1 }
            guard norm > 0 else { continue }
            let reflection = (0..<(n * n)).map { (($0 / n == $0 % n) ? 1 : 0) - 2 * v.scalars[$0 / n] * v.scalars[$0 % n] / norm }
            q = NaiveTensorOps.matmul(reflection, q, m: n, k: n, n: n)
        }
        var scaled = q
        for row in 0..<n { for column in 0..<n { scaled[row * n + column] *= values[column] } }
        let transposed = (0..<(n * n)).map { q[($0 % n) * n + $0 / n] }
        let a = NaiveTensorOps.matmul(scaled, transposed, m: n, k: n, n: n)
        return (0..<(n * n)).map { (a[$0] + a[($0 % n) * n + $0 / n]) / 2 }  // exactly symmetric
    }

    static func spectrum(_ n: Int, data: inout TestData) -> [Double] {
        // Clusters and a repeated value, as curvature factors have.
        (0..<n).map { i in i % 5 == 0 ? 2.0 : Double(data.integer(-1000...1000)) / 100 }
    }

    @Test("eigendecompositions recover known spectra; V is orthonormal and V Λ Vᵀ = A", arguments: backends, allPrecisions)
    func eigendecomposition(_ choice: Backend, _ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 31)
            let tolerance = Self.tolerance(S.self)
            for n in Self.sides {
                let values = Self.spectrum(n, data: &data)
                let a = Self.matrix(eigenvalues: values, data: &data)
                let result = try Tensor<S>(shape: [n, n], scalars: a.map(S.init)).symmetricEigendecomposition(backend: choice.backend)
                #expect(result.eigenvalues.shape == [n] && result.eigenvectors.shape == [n, n])
                expectClose(result.eigenvalues.scalars, values.sorted(), tolerance, "eigenvalues, n = \(n)")
                let v = result.eigenvectors.doubles
                let vtv = NaiveTensorOps.matmul((0..<(n * n)).map { v[($0 % n) * n + $0 / n] }, v, m: n, k: n, n: n)
                expectClose(vtv.map(S.init), (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 }, tolerance, "VᵀV, n = \(n)")
                let rebuilt = try result.reconstructed { $0 }
                expectClose(rebuilt.scalars, a, tolerance, "V Λ Vᵀ, n = \(n)")
            }
        }
    }

    @Test("only the lower triangle is read", arguments: backends)
    func lowerTriangle(_ choice: Backend) throws {
        var data = TestData(seed: 32)
        let n = 9
        let a = Self.matrix(eigenvalues: (0..<n).map { Double($0 + 1) }, data: &data)
        let scribbled = (0..<(n * n)).map { $0 % n > $0 / n ? 1e3 : a[$0] }
        let clean = try Tensor<Double>(shape: [n, n], scalars: a)
        let dirty = try Tensor<Double>(shape: [n, n], scalars: scribbled)
        let tolerance = Tolerance(relative: 1e-12, absolute: 1e-14)
        expectClose(try dirty.symmetricEigendecomposition(backend: choice.backend).eigenvalues.scalars,
                    try clean.symmetricEigendecomposition(backend: choice.backend).eigenvalues.doubles, tolerance, "eigenvalues")
        expectClose(try dirty.choleskyFactor(backend: choice.backend).scalars,
                    try clean.choleskyFactor(backend: choice.backend).doubles, tolerance, "Cholesky factor")
    }

    @Test("Cholesky: L is lower triangular, L Lᵀ = A, and A⁻¹ A = I", arguments: backends, allPrecisions)
    func cholesky(_ choice: Backend, _ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 33)
            let tolerance = Self.tolerance(S.self)
            for n in Self.sides {
                let values = (0..<n).map { _ in Double(data.integer(1...1000)) / 100 }  // condition number ≤ 1000
                let a = Self.matrix(eigenvalues: values, data: &data)
                let matrix = try Tensor<S>(shape: [n, n], scalars: a.map(S.init))
                let l = try matrix.choleskyFactor(backend: choice.backend).doubles
                #expect((0..<(n * n)).allSatisfy { $0 % n <= $0 / n || l[$0] == 0 }, "upper triangle zero, n = \(n)")
                let lt = (0..<(n * n)).map { l[($0 % n) * n + $0 / n] }
                expectClose(NaiveTensorOps.matmul(l, lt, m: n, k: n, n: n).map(S.init), a, tolerance, "L Lᵀ, n = \(n)")
                let inverse = try matrix.positiveDefiniteInverse(backend: choice.backend).doubles
                expectClose(NaiveTensorOps.matmul(inverse, a, m: n, k: n, n: n).map(S.init), (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 },
                            tolerance.times(1000), "A⁻¹ A, n = \(n)")
            }
        }
    }

    @Test("the built-in code and LAPACK agree", .enabled(if: LAPACKLibrary.system != nil, "needs a library with LAPACK"),
          arguments: allPrecisions)
    func backendsAgree(_ precision: any TensorScalar.Type) throws {
        let library = try #require(LAPACKLibrary.system)
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 34)
            let tolerance = Self.tolerance(S.self)
            let n = 60
            let m: Tensor<S> = data.tensor([n, n])
            let spd = try m.matmul(m, transposingOther: true) + Tensor.identity(n)
            let ours = try spd.symmetricEigendecomposition(backend: .builtin)
            let theirs = try spd.symmetricEigendecomposition(backend: .lapack(library))
            expectClose(ours.eigenvalues.scalars, theirs.eigenvalues.doubles, tolerance, "eigenvalues")
            // Eigenvectors agree up to sign; those of the well-separated values are compared.
            let values = theirs.eigenvalues.doubles
            let scale = values.last!
            for j in 0..<n where (j == 0 || values[j] - values[j - 1] > 1e-2 * scale) && (j == n - 1 || values[j + 1] - values[j] > 1e-2 * scale) {
                let u = (0..<n).map { Double(ours.eigenvectors.scalars[$0 * n + j]) }
                let w = (0..<n).map { Double(theirs.eigenvectors.scalars[$0 * n + j]) }
                let sign = zip(u, w).reduce(0) { $0 + $1.0 * $1.1 } >= 0 ? 1.0 : -1.0
                expectClose(u.map { S($0 * sign) }, w, tolerance.times(100), "eigenvector \(j)")
            }
            expectClose(try spd.choleskyFactor(backend: .builtin).scalars, try spd.choleskyFactor(backend: .lapack(library)).doubles,
                        tolerance, "Cholesky factor")
        }
    }

    @Test("bad matrices are refused with the reason", arguments: backends)
    func refusals(_ choice: Backend) throws {
        let indefinite = try Tensor<Double>(shape: [4, 4], scalars: [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, -1, 0, 0, 0, 0, 3])
        #expect(throws: DecompositionError.notPositiveDefinite(operation: "Cholesky factorisation", order: 3)) {
            try indefinite.choleskyFactor(backend: choice.backend)
        }
        #expect(throws: DecompositionError.notSquare(operation: "symmetric eigendecomposition", shape: [2, 3])) {
            try Tensor<Float>(zeros: [2, 3]).symmetricEigendecomposition(backend: choice.backend)
        }
        let nan = try Tensor<Double>(shape: [2, 2], scalars: [1, .nan, .nan, 1])
        #expect(throws: DecompositionError.nonFinite(operation: "Cholesky factorisation")) { try nan.choleskyFactor(backend: choice.backend) }
    }
}
