import Foundation
@testable import RucksackCore
import RucksackTestSupport
import Testing

@Suite("seeded random streams")
struct RandomStreamTests {
    @Test("equal seeds give equal streams; the stream is pinned across platforms")
    func determinism() throws {
        var a = RandomStream(seed: 42), b = RandomStream(seed: 42), c = RandomStream(seed: 43)
        let first = (0..<4).map { _ in a.next() }
        #expect(first == (0..<4).map { _ in b.next() })
        #expect(first != (0..<4).map { _ in c.next() })
        // Recorded once from this implementation: any change of algorithm or seeding shows here.
        var pinned = RandomStream(seed: 0)
        #expect((0..<3).map { _ in pinned.next() } == Self.pinnedBits)
        var normals = RandomStream(seed: 0)
        let values: Tensor<Double> = try normals.normal(shape: [3])
        #expect(values.scalars == Self.pinnedNormals)
    }

    static let pinnedBits: [UInt64] = [11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768]
    static let pinnedNormals: [Double] = [0.5981026483626094, -0.8950525532379914, -2.415606685712082]

    @Test("samples follow their distributions")
    func distributions() throws {
        var stream = RandomStream(seed: 7)
        let count = 20_000
        let uniform: Tensor<Double> = try stream.uniform(shape: [count], low: -1, high: 3)
        #expect(uniform.scalars.allSatisfy { $0 >= -1 && $0 < 3 })
        #expect(abs(uniform.sumOfElements() / Double(count) - 1) < 0.05)  // mean 1, sd of mean ≈ 0.008
        let normal: Tensor<Double> = try stream.normal(shape: [count], mean: 2, standardDeviation: 3)
        let mean = normal.sumOfElements() / Double(count)
        let variance = normal.scalars.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
        #expect(abs(mean - 2) < 0.1 && abs(variance - 9) < 0.5)
        let probabilities = try Tensor<Float>(repeating: 0.3, shape: [count])
        let coins = try stream.bernoulli(probabilities: probabilities)
        #expect(coins.scalars.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(abs(Double(coins.sumOfElements()) / Double(count) - 0.3) < 0.02)
        let rows = try Tensor<Double>(shape: [count / 4, 4], scalars: Array(repeating: [0.1, 0, 0.6, 0.3], count: count / 4).flatMap { $0 })
        let classes = try stream.categorical(probabilities: rows)
        #expect(classes.count == count / 4 && !classes.contains(1))
        #expect(abs(Double(classes.filter { $0 == 2 }.count) / Double(classes.count) - 0.6) < 0.03)
    }

    @Test("invalid distributions throw")
    func invalid() {
        var stream = RandomStream(seed: 1)
        #expect(throws: TensorError.self) { try stream.bernoulli(probabilities: Tensor<Float>(shape: [1], scalars: [1.5])) }
        #expect(throws: TensorError.self) { try stream.categorical(probabilities: Tensor<Float>(shape: [1, 2], scalars: [0, 0])) }
        #expect(throws: TensorError.self) { try stream.categorical(probabilities: Tensor<Float>(shape: [1, 2], scalars: [-1, 2])) }
        #expect(throws: TensorError.self) { try stream.categorical(probabilities: Tensor<Float>(zeros: [2, 0])) }
    }
}

@Suite("deterministic logarithm")
struct DeterministicLogTests {
    @Test("agrees with the C library's log to 4 ulp")
    func accuracy() {
        var stream = RandomStream(seed: 3)
        for _ in 0..<20_000 {
            let x = Foundation.exp(40 * stream.nextUnitDouble() - 20) * (stream.nextUnitDouble() + 0.5)
            let ours = RandomStream.deterministicLog(x), reference = Foundation.log(x)
            #expect(abs(ours - reference) <= 4 * reference.ulp, "log(\(x))")
        }
        #expect(RandomStream.deterministicLog(1) == 0)
    }
}
