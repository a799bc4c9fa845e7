/// Row-major multi-index arithmetic, written out plainly for reference implementations.
public enum NaiveIndexing {
    /// The multi-index of `flat` in `shape`.
    public static func multiIndex(_ flat: Int, in shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = flat
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    /// The flat position of `index` in `shape`.
    public static func flat(_ index: [Int], in shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// All multi-indices of `shape` in row-major order.
    public static func all(_ shape: [Int]) -> [[Int]] {
        (0..<shape.reduce(1, *)).map { multiIndex($0, in: shape) }
    }
}
