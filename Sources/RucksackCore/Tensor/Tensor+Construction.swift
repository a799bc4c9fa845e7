extension Tensor {
    /// The square matrix with `values` on its diagonal and zeros elsewhere.
    public static func diagonal(_ values: [Scalar]) -> Tensor {
        let d = values.count
        var scalars = [Scalar](repeating: 0, count: d * d)
        for i in 0..<d { scalars[i * d + i] = values[i] }
        return Tensor(unchecked: [d, d], scalars: scalars)
    }

    /// The `size × size` identity matrix.
    public static func identity(_ size: Int) -> Tensor {
        diagonal([Scalar](repeating: 1, count: Swift.max(size, 0)))
    }

    /// Per-sample diagonal matrices as a stack of columns: for `values: [N, *shape]` with `D`
    /// elements per sample, `[D, N, *shape]` with entry `[d, n, f] = δ_df · values[n, f]`.
    public static func diagonalStack(_ values: Tensor) throws -> Tensor {
        let samples = values.shape.first ?? 0, features = values.count / Swift.max(samples, 1)
        let identity = try Tensor.identity(features).reshaped([features, 1, features])
        return try (identity * values.reshaped([samples, features])).reshaped([features] + values.shape)
    }
}
