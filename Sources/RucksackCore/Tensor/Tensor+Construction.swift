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
}
