import Foundation
import RucksackCore
import RucksackTestSupport
import Testing

@Suite("reductions and softmax")
struct ReductionTests {
    static let cases: [([Int], [Int])] = [
        ([4, 5], [0]), ([4, 5], [1]), ([4, 5], [0, 1]), ([2, 3, 4], [0, 2]), ([2, 3, 4], [-1]),
        ([2, 3, 4, 2], [1, 3]), ([1, 6], [0]), ([3, 0, 2], [0]), ([3, 0, 2], [1]), ([5], []),
        // The last axis alone (one run per result), empty either way, named twice, and large
        // enough to be shared out over two threads.
        ([3, 2, 0], [2]), ([0, 4], [1]), ([2, 3, 4], [2, -1]), ([3, 700, 400], [2]),
    ]

    @Test("sum, mean and max over any set of axes", arguments: allPrecisions)
    func reductions(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 3)
            for (shape, axes) in Self.cases {
                let x: Tensor<S> = data.tensor(shape)
                let set = Set(axes.map { $0 < 0 ? $0 + shape.count : $0 })
                let count = Double(set.reduce(1) { $0 * shape[$1] })
                let sum = NaiveTensorOps.reduce(x.doubles, shape, axes: set, initial: 0, +)
                expectClose(try x.sum(axes: axes).scalars, sum, Tolerance.unitScale(S.self), "\(shape) \(axes)")
                expectClose(try x.mean(axes: axes).scalars, sum.map { $0 / count }, Tolerance.unitScale(S.self))
                let kept = try x.sum(axes: axes, keepingAxes: true)
                #expect(kept.shape == shape.indices.map { set.contains($0) ? 1 : shape[$0] })
                if set.allSatisfy({ shape[$0] > 0 }) {
                    let maximum = NaiveTensorOps.reduce(x.doubles, shape, axes: set, initial: -.infinity) { max($0, $1) }
                    expectClose(try x.max(axes: axes).scalars, maximum, Tolerance.exact)
                } else {
                    #expect(throws: TensorError.self) { try x.max(axes: axes) }
                }
            }
        }
    }

    @Test("squared norms per sample and the second moment over samples equal the naive sums, large ones split between threads",
          arguments: allPrecisions)
    func squaredSums(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 5)
            // Odd row lengths (tails after the 8-wide loop), empty axes, and 2²⁰ elements for the threads.
            for shape in [[1], [3, 1], [4, 7], [2, 3, 5], [5, 19, 3], [0, 4], [3, 0], [8, 131_072]] {
                let x: Tensor<S> = data.tensor(shape)
                let squares = x.doubles.map { $0 * $0 }
                let rest = Set(1..<shape.count)
                expectClose(try x.squaredNormsAlongFirstAxis().scalars, NaiveTensorOps.reduce(squares, shape, axes: rest, initial: 0, +),
                            Tolerance.unitScale(S.self).times(10), "\(shape)")
                let moment = try x.squaredSumAlongFirstAxis()
                #expect(moment.shape == Array(shape.dropFirst()))
                expectClose(moment.scalars, NaiveTensorOps.reduce(squares, shape, axes: [0], initial: 0, +),
                            Tolerance.unitScale(S.self).times(10), "\(shape)")
            }
            #expect(throws: TensorError.self) { try Tensor<S>(shape: [], scalars: [2]).squaredNormsAlongFirstAxis() }
        }
    }

    @Test("argmax picks the first maximum along an axis")
    func argmax() throws {
        let x = try Tensor<Double>(shape: [2, 3], scalars: [1, 5, 5, 7, -1, 2])
        let rows = try x.argmax(axis: 1)
        #expect(rows.shape == [2] && rows.indices == [1, 0])
        let columns = try x.argmax(axis: 0)
        #expect(columns.shape == [3] && columns.indices == [1, 0, 0])
        #expect(throws: TensorError.self) { try x.argmax(axis: 2) }
        #expect(throws: TensorError.self) { try Tensor<Double>(zeros: [2, 0]).argmax(axis: 1) }
    }

    @Test("softmax and log-softmax along an axis", arguments: allPrecisions)
    func softmax(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 4)
            let x: Tensor<S> = data.tensor([3, 4, 2]) * 10
            for axis in 0..<3 {
                let exp = x.doubles.map { Foundation.exp($0) }
                let totals = NaiveTensorOps.reduce(exp, x.shape, axes: [axis], initial: 0, +)
                let expected = NaiveIndexing.all(x.shape).enumerated().map { position, index in
                    var kept = index
                    kept.remove(at: axis)
                    var keptShape = x.shape
                    keptShape.remove(at: axis)
                    return exp[position] / totals[NaiveIndexing.flat(kept, in: keptShape)]
                }
                expectClose(try x.softmax(axis: axis).scalars, expected, Tolerance.unitScale(S.self))
                // Each log-probability against its own magnitude: these are not sums.
                for (l, e) in zip(try x.logSoftmax(axis: axis).scalars, expected) {
                    expectClose([l], [Foundation.log(e)], Tolerance.unitScale(S.self).times(10))
                }
            }
            let large = try Tensor<S>(shape: [2], scalars: [1000, 0])
            #expect(try large.softmax(axis: 0).scalars == [1, 0])
            #expect(try large.logSoftmax(axis: 0).scalars == [0, -1000])
        }
    }
}
