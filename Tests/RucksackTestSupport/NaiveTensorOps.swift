/// Tensor operations written as loops over multi-indices, in Float64.
public enum NaiveTensorOps {
    /// `f(a, b)` with NumPy broadcasting.
    public static func broadcast(
        _ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int], _ f: (Double, Double) -> Double
    ) -> (values: [Double], shape: [Int]) {
        let rank = max(aShape.count, bShape.count)
        let a1 = [Int](repeating: 1, count: rank - aShape.count) + aShape
        let b1 = [Int](repeating: 1, count: rank - bShape.count) + bShape
        let shape = zip(a1, b1).map { $0 == 1 ? $1 : $0 }
        let values = NaiveIndexing.all(shape).map { index in
            let ai = zip(index, a1).map { $1 == 1 ? 0 : $0 }
            let bi = zip(index, b1).map { $1 == 1 ? 0 : $0 }
            return f(a[NaiveIndexing.flat(ai, in: a1)], b[NaiveIndexing.flat(bi, in: b1)])
        }
        return (values, shape)
    }

    /// Folds the elements over `axes` with `combine`, starting from `initial`.
    public static func reduce(
        _ x: [Double], _ shape: [Int], axes: Set<Int>, initial: Double, _ combine: (Double, Double) -> Double
    ) -> [Double] {
        let outShape = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        var out = [Double](repeating: initial, count: outShape.reduce(1, *))
        for (position, index) in NaiveIndexing.all(shape).enumerated() {
            let kept = index.indices.filter { !axes.contains($0) }.map { index[$0] }
            let o = NaiveIndexing.flat(kept, in: outShape)
            out[o] = combine(out[o], x[position])
        }
        return out
    }

    /// `torch.permute`.
    public static func permute(_ x: [Double], _ shape: [Int], _ axes: [Int]) -> [Double] {
        let outShape = axes.map { shape[$0] }
        return NaiveIndexing.all(outShape).map { index in
            var source = [Int](repeating: 0, count: shape.count)
            for (d, axis) in axes.enumerated() { source[axis] = index[d] }
            return x[NaiveIndexing.flat(source, in: shape)]
        }
    }

    /// `[m, k] · [k, n]` by the triple loop.
    public static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k { total += a[i * k + p] * b[p * n + j] }
                c[i * n + j] = total
            }
        }
        return c
    }
}
