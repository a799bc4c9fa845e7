import RucksackCore
import RucksackTestSupport
import Testing

@Suite("shape and layout operations")
struct LayoutTests {
    @Test("permute and transpose equal the index definition", arguments: allPrecisions)
    func permute(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 5)
            let cases: [([Int], [Int])] = [([2, 3], [1, 0]), ([2, 3, 4], [2, 0, 1]), ([1, 3, 0, 2], [3, 2, 1, 0]),
                                           ([2, 1, 3, 2], [0, 2, 1, 3]), ([4], [0]), ([3, 4, 5], [-1, 0, 1]),
                                           // Only axes of extent 1 move (a reshape), or they move along.
                                           ([1, 3, 1, 2], [2, 1, 0, 3]), ([3, 1, 4], [1, 0, 2]), ([1, 3, 1, 2], [3, 0, 1, 2]),
                                           // Batched transposes of groups of axes, across the 32×32 tiles; one that is not.
                                           ([2, 3, 40, 37], [0, 1, 3, 2]), ([5, 33, 2], [2, 0, 1]), ([3, 2, 4, 5], [0, 3, 1, 2]),
                                           ([2, 1, 35, 1, 33], [0, 4, 1, 3, 2]), ([2, 3, 4], [1, 0, 2]),
                                           // Whole 16 × 16 tiles only; bands of fewer than 16 rows; and 624 000
                                           // elements with edges both ways, shared out over two threads.
                                           ([2, 32, 48], [0, 2, 1]), ([3, 7, 40], [0, 2, 1]), ([4, 300, 520], [0, 2, 1])]
            for (shape, axes) in cases {
                let x: Tensor<S> = data.tensor(shape)
                let normalized = axes.map { $0 < 0 ? $0 + shape.count : $0 }
                let y = try x.permuted(axes)
                #expect(y.shape == normalized.map { shape[$0] })
                expectClose(y.scalars, NaiveTensorOps.permute(x.doubles, shape, normalized), Tolerance.exact)
            }
            let m: Tensor<S> = data.tensor([3, 5])
            #expect(try m.transposed().scalars == m.permuted([1, 0]).scalars)
            #expect(throws: TensorError.self) { try m.permuted([0, 0]) }
            #expect(throws: TensorError.self) { try m.permuted([0]) }
        }
    }

    @Test("reshape, flatten, squeeze and unsqueeze keep the elements")
    func reshape() throws {
        let x = try Tensor<Float>(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        #expect(try x.reshaped([6, -1]).shape == [6, 4])
        #expect(try x.reshaped([24]).scalars == x.scalars)
        #expect(try x.flattened(from: 1).shape == [2, 12])
        #expect(try x.unsqueezed(at: 3).shape == [2, 3, 4, 1])
        #expect(try x.unsqueezed(at: 0).squeezed(at: 0).shape == [2, 3, 4])
        #expect(try Tensor<Float>(zeros: [0, 3]).reshaped([3, 0]).shape == [3, 0])
        #expect(throws: TensorError.shapeMismatch(operation: "reshape", lhs: [2, 3, 4], rhs: [5, 5])) { try x.reshaped([5, 5]) }
        #expect(throws: TensorError.self) { try x.reshaped([-1, -1]) }
        #expect(throws: TensorError.self) { try x.squeezed(at: 0) }
    }

    @Test("slice, index-select, concatenate, pad and expand", arguments: allPrecisions)
    func gathering(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 6)
            let x: Tensor<S> = data.tensor([4, 5, 3])
            let shape = x.shape
            func element(_ i: Int, _ j: Int, _ k: Int) -> Double { x.doubles[NaiveIndexing.flat([i, j, k], in: shape)] }

            let sliced = try x.sliced(axis: 1, range: 1..<5, step: 2)
            #expect(sliced.shape == [4, 2, 3])
            #expect(sliced.doubles == NaiveIndexing.all([4, 2, 3]).map { element($0[0], 1 + 2 * $0[1], $0[2]) })
            #expect(try x.sliced(axis: 0, range: 2..<2).shape == [0, 5, 3])

            let indices = [3, 0, 0, 2, 3]
            let selected = try x.indexSelected(axis: 0, indices: indices)
            #expect(selected.doubles == NaiveIndexing.all([5, 5, 3]).map { element(indices[$0[0]], $0[1], $0[2]) })
            #expect(try x.indexSelected(axis: 2, indices: []).shape == [4, 5, 0])

            let y: Tensor<S> = data.tensor([4, 2, 3])
            let joined = try Tensor.concatenated([x, y, try x.sliced(axis: 1, range: 0..<0)], axis: 1)
            #expect(joined.shape == [4, 7, 3])
            #expect(joined.doubles == NaiveIndexing.all([4, 7, 3]).map {
                $0[1] < 5 ? element($0[0], $0[1], $0[2]) : y.doubles[NaiveIndexing.flat([$0[0], $0[1] - 5, $0[2]], in: [4, 2, 3])]
            })

            let padded = try x.padded([(before: 1, after: 2), (before: -1, after: 0)], value: 7)
            #expect(padded.shape == [4, 8, 2])
            #expect(padded.doubles == NaiveIndexing.all([4, 8, 2]).map {
                let j = $0[1] - 1, k = $0[2] + 1
                return j >= 0 && j < 5 ? element($0[0], j, k) : 7
            })

            let row: Tensor<S> = data.tensor([1, 3])
            let expanded = try row.expanded(to: [2, 4, -1])
            #expect(expanded.shape == [2, 4, 3])
            #expect(expanded.doubles == NaiveIndexing.all([2, 4, 3]).map { row.doubles[$0[2]] })
            #expect(try row.expanded(to: [0, 3]).shape == [0, 3])

            #expect(throws: TensorError.self) { try x.sliced(axis: 1, range: 2..<6) }
            #expect(throws: TensorError.self) { try x.indexSelected(axis: 0, indices: [4]) }
            #expect(throws: TensorError.shapeMismatch(operation: "concatenate", lhs: [4, 5, 3], rhs: [3, 2, 3])) {
                try Tensor.concatenated([x, data.tensor([3, 2, 3])], axis: 1)
            }
            #expect(throws: TensorError.self) { try x.padded([(before: -3, after: -3)]) }
            #expect(throws: TensorError.self) { try row.expanded(to: [2, 2]) }
        }
    }

    @Test("parts made per range of rows and joined as they come equal the whole", arguments: allPrecisions)
    func joinedAlongFirstAxis(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 31)
            let x: Tensor<S> = data.tensor([7, 2, 3])
            for step in [1, 2, 3, 6, 7, 20] {
                var ranges: [Range<Int>] = []
                let joined = try Tensor<S>.joinedAlongFirstAxis(rows: 7, step: step) { rows in
                    ranges.append(rows)
                    return try x.sliced(axis: 0, range: rows) * 2
                }
                #expect(joined == x * 2, "step \(step)")
                #expect(ranges == stride(from: 0, to: 7, by: step).map { $0..<Swift.min(7, $0 + step) })
            }
            #expect(throws: TensorError.shapeMismatch(operation: "joinedAlongFirstAxis", lhs: [2, 2, 3], rhs: [2, 3, 2])) {
                try Tensor<S>.joinedAlongFirstAxis(rows: 7, step: 2) { rows in
                    rows.lowerBound == 0 ? try x.sliced(axis: 0, range: rows) : try x.sliced(axis: 0, range: rows).reshaped([rows.count, 3, 2])
                }
            }
            #expect(throws: TensorError.self) { try Tensor<S>.joinedAlongFirstAxis(rows: 0, step: 2) { _ in x } }
            #expect(throws: TensorError.self) { try Tensor<S>.joinedAlongFirstAxis(rows: 7, step: 0) { _ in x } }
            #expect(try Tensor<S>.joinedAlongFirstAxis(rows: 0, step: 2) { try x.sliced(axis: 0, range: $0) }.shape == [0, 2, 3])
            // A single part, returned as it is, must still have the rows asked for.
            #expect(throws: TensorError.shapeMismatch(operation: "joinedAlongFirstAxis", lhs: [7, 2, 3], rhs: [3, 2, 3])) {
                try Tensor<S>.joinedAlongFirstAxis(rows: 7, step: 20) { _ in try x.sliced(axis: 0, range: 0..<3) }
            }
        }
    }

    @Test("value semantics: a copy does not see later changes")
    func valueSemantics() throws {
        var a = try Tensor<Double>(shape: [2], scalars: [1, 2])
        let b = a
        a = a * 3
        #expect(b.scalars == [1, 2] && a.scalars == [3, 6])
    }

    @Test("constructors check shapes")
    func constructors() {
        #expect(throws: TensorError.self) { try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3]) }
        #expect(throws: TensorError.self) { try Tensor<Float>(zeros: [2, -1]) }
        #expect(throws: TensorError.self) { try Tensor<Float>(zeros: [Int.max, 4]) }
    }
}
