import RucksackCore

/// Seeded random test inputs.
public struct TestData {
    public var stream: RandomStream

    public init(seed: UInt64) { stream = RandomStream(seed: seed) }

    /// A tensor of standard normal values.
    public mutating func tensor<Scalar: TensorScalar>(_ shape: [Int], _: Scalar.Type = Scalar.self) -> Tensor<Scalar> {
        // Shapes come from the tests themselves, so a failure here is a bug in the test.
        try! stream.normal(shape: shape)
    }

    /// A random integer in `range`.
    public mutating func integer(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &stream)
    }

    /// A random shape of `rank` axes with extents in `extents`.
    public mutating func shape(rank: Int, extents: ClosedRange<Int>) -> [Int] {
        (0..<rank).map { _ in integer(extents) }
    }
}
