/// Symmetric decompositions in Float64 for when no LAPACK is loaded (Golub & Van Loan,
/// *Matrix Computations*, §5.1, §8.3 and §4.2). Matrices are row-major `n × n`; only the lower
/// triangle of the input is read.
enum BuiltinDecompositions {
    /// Eigenvalues ascending and eigenvectors as rows (row `j` belongs to value `j`).
    static func eigendecomposition(_ matrix: [Double], n: Int) throws -> ([Double], [Double]) {
        var a = matrix
        for row in 0..<n {
            for column in 0..<row { a[column * n + row] = a[row * n + column] }
        }
        var (d, e, q) = tridiagonalize(&a, n: n)  // A = Q T Qᵀ; q holds Qᵀ, whose rows become the eigenvectors
        try diagonalizeTridiagonal(&d, &e, rotating: &q, n: n)
        let order = (0..<n).sorted { d[$0] < d[$1] }
        var rows = [Double](repeating: 0, count: n * n)
        for (target, source) in order.enumerated() {
            for column in 0..<n { rows[target * n + column] = q[source * n + column] }
        }
        return (order.map { d[$0] }, rows)
    }

    /// Householder reduction `A = Q T Qᵀ`: returns T's diagonal and off-diagonal and `Qᵀ`.
    private static func tridiagonalize(_ a: inout [Double], n: Int) -> ([Double], [Double], [Double]) {
        var qt = [Double](repeating: 0, count: n * n)
        for i in 0..<n { qt[i * n + i] = 1 }
        var v = [Double](repeating: 0, count: n), p = [Double](repeating: 0, count: n)
        for k in 0..<Swift.max(0, n - 2) {
            let start = k + 1, m = n - start
            var norm = 0.0
            for i in start..<n { norm += a[i * n + k] * a[i * n + k] }
            norm = norm.squareRoot()
            guard norm > 0 else { continue }
            let alpha = a[start * n + k] > 0 ? -norm : norm
            for i in 0..<m { v[i] = a[(start + i) * n + k] }
            v[0] -= alpha
            let length = v[0..<m].reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard length > 0 else { continue }
            for i in 0..<m { v[i] /= length }
            // A₂₂ ← H A₂₂ H with H = I − 2vvᵀ: A₂₂ − 2v qᵀ − 2q vᵀ, q = p − (vᵀp) v, p = A₂₂ v.
            var vp = 0.0
            for i in 0..<m {
                var sum = 0.0
                for j in 0..<m { sum += a[(start + i) * n + start + j] * v[j] }
                p[i] = sum
                vp += v[i] * sum
            }
            for i in 0..<m { p[i] -= vp * v[i] }
            for i in 0..<m {
                for j in 0..<m { a[(start + i) * n + start + j] -= 2 * (v[i] * p[j] + p[i] * v[j]) }
            }
            for i in start..<n { a[i * n + k] = 0; a[k * n + i] = 0 }
            a[start * n + k] = alpha
            a[k * n + start] = alpha
            // Qᵀ ← H Qᵀ on rows start..<n.
            var dots = [Double](repeating: 0, count: n)  // vᵀ Qᵀ, row by row for the cache
            for i in 0..<m {
                for column in 0..<n { dots[column] += v[i] * qt[(start + i) * n + column] }
            }
            for i in 0..<m {
                for column in 0..<n { qt[(start + i) * n + column] -= 2 * v[i] * dots[column] }
            }
        }
        let d = (0..<n).map { a[$0 * n + $0] }
        let e = (0..<Swift.max(0, n - 1)).map { a[($0 + 1) * n + $0] }
        return (d, e, qt)
    }

    /// Implicit symmetric QR steps with Wilkinson shifts on the tridiagonal (`d`, `e`), applying
    /// every Givens rotation to the rows of `q` (the eigenvectors, as rows).
    private static func diagonalizeTridiagonal(_ d: inout [Double], _ e: inout [Double], rotating q: inout [Double], n: Int) throws {
        let limit = 30 * Swift.max(n, 1)
        var iterations = 0
        var high = n - 1
        while high > 0 {
            // Deflate: drop negligible off-diagonals, shrink the active block from below.
            for i in 0..<high where abs(e[i]) <= Double.ulpOfOne * (abs(d[i]) + abs(d[i + 1]))
                || abs(e[i]) < Double.leastNormalMagnitude { e[i] = 0 }
            if e[high - 1] == 0 { high -= 1; continue }
            var low = high - 1
            while low > 0, e[low - 1] != 0 { low -= 1 }
            iterations += 1
            guard iterations <= limit else {
                throw DecompositionError.didNotConverge(operation: "symmetric eigendecomposition", iterations: limit)
            }
            // Wilkinson shift from the trailing 2×2 block.
            let t = (d[high - 1] - d[high]) / 2, b = e[high - 1]
            let shift = d[high] - b * b / (t + (t >= 0 ? 1 : -1) * (t * t + b * b).squareRoot())
            var x = d[low] - shift, z = e[low]
            for k in low..<high {
                let r = (x * x + z * z).squareRoot()
                let (c, s) = r == 0 ? (1.0, 0.0) : (x / r, -z / r)
                if k > low { e[k - 1] = c * x - s * z }
                let (dk, ek, dk1) = (d[k], e[k], d[k + 1])
                d[k] = c * c * dk - 2 * c * s * ek + s * s * dk1
                d[k + 1] = s * s * dk + 2 * c * s * ek + c * c * dk1
                e[k] = c * s * (dk - dk1) + (c * c - s * s) * ek
                if k + 1 < high {
                    z = -s * e[k + 1]
                    e[k + 1] *= c
                    x = e[k]
                }
                for column in 0..<n {
                    let (upper, lower) = (q[k * n + column], q[(k + 1) * n + column])
                    q[k * n + column] = c * upper - s * lower
                    q[(k + 1) * n + column] = s * upper + c * lower
                }
            }
        }
    }

    /// `L` with `A = L Lᵀ`, row by row; its upper triangle is left as garbage for the caller to clear.
    static func cholesky(_ matrix: [Double], n: Int) throws -> [Double] {
        var l = matrix
        for j in 0..<n {
            var diagonal = l[j * n + j]
            for k in 0..<j { diagonal -= l[j * n + k] * l[j * n + k] }
            guard diagonal > 0 else { throw DecompositionError.notPositiveDefinite(operation: "Cholesky factorisation", order: j + 1) }
            let pivot = diagonal.squareRoot()
            l[j * n + j] = pivot
            for i in (j + 1)..<Swift.max(j + 1, n) {
                var sum = l[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = sum / pivot
            }
        }
        return l
    }

    /// `L⁻¹` of a lower-triangular matrix with a positive diagonal, by forward substitution.
    static func lowerTriangularInverse(_ l: [Double], n: Int) -> [Double] {
        var inverse = [Double](repeating: 0, count: n * n)
        for column in 0..<n {
            inverse[column * n + column] = 1 / l[column * n + column]
            for row in (column + 1)..<Swift.max(column + 1, n) {
                var sum = 0.0
                for k in column..<row { sum -= l[row * n + k] * inverse[k * n + column] }
                inverse[row * n + column] = sum / l[row * n + row]
            }
        }
        return inverse
    }
}
