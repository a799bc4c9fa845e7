import Foundation
import Synchronization
import RucksackCore
import RucksackTestSupport
import Testing

/// Every backend this machine offers: each instruction set of the built-in kernels (single- and
/// multi-threaded) and, where installed, the system's CBLAS.
enum Backends {
    struct Choice: CustomStringConvertible, Sendable {
        var backend: MatrixBackend
        var description: String { backend.instructionSet.map { "built-in \($0), \(backend.threads) threads" } ?? backend.name }
    }

    static let all: [Choice] = {
        var choices = BuiltinInstructionSet.supported.flatMap { set in
            [1, 2].map { Choice(backend: .builtin(threads: $0, instructionSet: set)) }
        }
        if let blas = MatrixBackend.systemCBLAS(threads: 2) { choices.append(Choice(backend: blas)) }
        return choices
    }()
}

@Suite("matrix products")
struct MatmulTests {
    static let shapes: [(m: Int, k: Int, n: Int)] = [
        (1, 1, 1), (3, 5, 7), (0, 4, 3), (4, 0, 3), (4, 3, 0), (17, 33, 65), (64, 1, 64), (1, 100, 1),
        (37, 129, 23), (130, 300, 97), (60, 200, 150),  // the last two split rows, then columns, over threads
        // Thin products (at most 8 rows or columns) take loops of their own; 3000×400×1 is split over threads.
        (300, 70, 1), (1, 70, 300), (250, 37, 3), (5, 41, 260), (8, 33, 8), (9, 40, 8), (3000, 400, 1),
    ]

    @Test("2-D products with either operand transposed equal the triple loop", arguments: Backends.all)
    func products(_ choice: Backends.Choice) throws {
        try check(Float.self)
        try check(Double.self)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 7)
            for (m, k, n) in Self.shapes {
                let a: Tensor<S> = data.tensor([m, k]), b: Tensor<S> = data.tensor([k, n])
                let expected = NaiveTensorOps.matmul(a.doubles, b.doubles, m: m, k: k, n: n)
                let at = try a.transposed(), bt = try b.transposed()
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let c = try (ta ? at : a).matmul(tb ? bt : b, transposingSelf: ta, transposingOther: tb, backend: choice.backend)
                    #expect(c.shape == [m, n])
                    expectClose(c.scalars, expected, Tolerance.unitScale(S.self).times(10), "\(m)×\(k)×\(n) \(ta) \(tb)")
                }
            }
        }
    }

    /// Tall matrices below, at and across two blocks of 128 columns; wide ones; zero rows and
    /// columns; with a CBLAS library, one and two bands of `syrk` (below and above 2·10⁶ terms).
    @Test("Gram matrices equal the triple loop; the blocked ones are exactly symmetric", arguments: Backends.all)
    func gramMatrices(_ choice: Backends.Choice) throws {
        try check(Float.self)
        try check(Double.self)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 8)
            for (rows, columns) in [(5, 3), (0, 4), (3, 0), (1, 300), (40, 200), (300, 255), (256, 256), (300, 257), (450, 413)] {
                let a: Tensor<S> = data.tensor([rows, columns])
                let transposed = try a.transposed().doubles
                let expected = NaiveTensorOps.matmul(transposed, a.doubles, m: columns, k: rows, n: columns)
                let g = try a.gram(backend: choice.backend)
                #expect(g.shape == [columns, columns])
                expectClose(g.scalars, expected, Tolerance.unitScale(S.self).times(10), "gram of \(rows)×\(columns)")
                let scaled = try a.gram(scaledBy: 0.25, backend: choice.backend)
                expectClose(scaled.scalars, expected.map { $0 / 4 }, Tolerance.unitScale(S.self).times(10), "gram of \(rows)×\(columns) scaled by 1/4")
                // The blocked form (tall, 256 columns or more) mirrors its upper triangle.
                let mirrored = (0..<columns).allSatisfy { i in (0..<columns).allSatisfy { j in g.scalars[i * columns + j] == g.scalars[j * columns + i] } }
                #expect(mirrored || rows < columns || columns < 256, "gram of \(rows)×\(columns) is not symmetric")
            }
            #expect(throws: TensorError.self) { try (data.tensor([2, 2, 2]) as Tensor<S>).gram() }
        }
    }

    /// One and several columns `V`; odd sizes; enough work to share over two threads (the last
    /// case) or not; no samples, rows, columns or terms.
    @Test("summed squared products, summed and per sample, equal the squares of the triple loops", arguments: Backends.all)
    func summedSquaredProducts(_ choice: Backends.Choice) throws {
        try check(Float.self)
        try check(Double.self)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 9)
            let cases: [(v: Int, n: Int, m: Int, k: Int, l: Int)] = [
                (1, 1, 1, 1, 1), (1, 3, 5, 7, 4), (3, 2, 17, 33, 9), (2, 5, 0, 4, 3), (2, 5, 4, 0, 3), (2, 5, 4, 3, 0),
                (0, 5, 4, 3, 2), (2, 0, 4, 3, 2), (2, 9, 37, 70, 49),
            ]
            for (v, n, m, k, l) in cases {
                let a: Tensor<S> = data.tensor([v, n, m, l]), b: Tensor<S> = data.tensor([n, k, l])
                var expected = [Double](repeating: 0, count: m * k), perSample = [Double](repeating: 0, count: n * m * k)
                let (ad, bd) = (a.doubles, b.doubles)
                for column in 0..<v {
                    for sample in 0..<n {
                        let product = NaiveTensorOps.matmul(
                            Array(ad[(column * n + sample) * m * l ..< (column * n + sample + 1) * m * l]),
                            try Tensor<Double>(shape: [k, l], scalars: Array(bd[sample * k * l ..< (sample + 1) * k * l])).transposed().scalars,
                            m: m, k: l, n: k)
                        for index in 0..<m * k {
                            expected[index] += product[index] * product[index]
                            perSample[sample * m * k + index] += product[index] * product[index]
                        }
                    }
                }
                let sums = try Tensor.summedSquaredProducts(a, b, backend: choice.backend)
                #expect(sums.shape == [m, k])
                expectClose(sums.scalars, expected, Tolerance.unitScale(S.self).times(10), "summed squared products V=\(v) N=\(n) \(m)×\(l)×\(k)")
                let samples = try Tensor.summedSquaredProducts(a, b, perSample: true, backend: choice.backend)
                #expect(samples.shape == [n, m, k])
                expectClose(samples.scalars, perSample, Tolerance.unitScale(S.self).times(10), "per-sample squared products V=\(v) N=\(n) \(m)×\(l)×\(k)")
            }
            #expect(throws: TensorError.self) { try Tensor.summedSquaredProducts(data.tensor([1, 2, 3, 4]) as Tensor<S>, data.tensor([2, 5, 3])) }
            #expect(throws: TensorError.self) { try Tensor.summedSquaredProducts(data.tensor([1, 2, 3, 4]) as Tensor<S>, data.tensor([3, 5, 4])) }
        }
    }

    /// Rank-2 and rank-3 inputs, either layout of the shared matrix, and the empty cases: no
    /// rows, no output columns, no contracted terms (the bias alone).
    @Test("a product plus a bias on every row equals the triple loop plus the bias", arguments: Backends.all)
    func productsPlusBias(_ choice: Backends.Choice) throws {
        try check(Float.self)
        try check(Double.self)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 9)
            for (leading, k, n) in [([3], 5, 7), ([2, 65], 129, 23), ([130], 300, 97), ([0], 4, 3), ([4], 0, 3), ([4], 3, 0)] {
                let rows = leading.reduce(1, *)
                let a: Tensor<S> = data.tensor(leading + [k]), b: Tensor<S> = data.tensor([k, n]), bias: Tensor<S> = data.tensor([n])
                let product = NaiveTensorOps.matmul(a.doubles, b.doubles, m: rows, k: k, n: n)
                let expected = product.indices.map { product[$0] + bias.doubles[$0 % n] }
                for transposed in [false, true] {
                    let other = try transposed ? b.transposed() : b
                    let c = try a.matmul(other, transposingOther: transposed, addingToEachRow: bias, backend: choice.backend)
                    #expect(c.shape == leading + [n])
                    expectClose(c.scalars, expected, Tolerance.unitScale(S.self).times(10), "\(leading)×\(k)×\(n) \(transposed)")
                }
            }
            let a: Tensor<S> = data.tensor([2, 3]), b: Tensor<S> = data.tensor([3, 4])
            #expect(throws: TensorError.self) { try a.matmul(b, addingToEachRow: data.tensor([3]), backend: choice.backend) }
            #expect(throws: TensorError.self) { try a.matmul(data.tensor([2, 3, 4]), addingToEachRow: data.tensor([4]), backend: choice.backend) }
        }
    }

    @Test("alpha, beta and leading dimensions reach the kernels", arguments: Backends.all)
    func scaledAccumulation(_ choice: Backends.Choice) throws {
        var data = TestData(seed: 8)
        // Operands embedded in wider row-major buffers; the last two are thin (few columns, few rows).
        for (m, k, n) in [(19, 23, 29), (19, 23, 3), (3, 23, 29)] {
            let ld = 40
            let a: Tensor<Double> = data.tensor([m, ld]), b: Tensor<Double> = data.tensor([k, ld])
            var c: Tensor<Double> = data.tensor([m, ld])
            let original = c.doubles, aValues = a.doubles, bValues = b.doubles
            var shape = GEMMShape(m: m, n: n, k: k)
            (shape.lda, shape.ldb, shape.ldc) = (ld, ld, ld)
            try a.scalars.withUnsafeBufferPointer { a in
                try b.scalars.withUnsafeBufferPointer { b in
                    let cScalars = c.scalars
                    var output = cScalars
                    try output.withUnsafeMutableBufferPointer { c in
                        try Double.gemm(on: choice.backend, shape, alpha: 0.5, a.baseAddress!, b.baseAddress!, beta: -2, c.baseAddress!)
                    }
                    c = try Tensor(shape: [m, ld], scalars: output)
                }
            }
            for i in 0..<m {
                for j in 0..<ld {
                    var expected = original[i * ld + j]
                    if j < n {
                        var product = 0.0
                        for p in 0..<k { product += aValues[i * ld + p] * bValues[p * ld + j] }
                        expected = 0.5 * product - 2 * expected
                    }
                    expectClose([c.scalars[i * ld + j]], [expected], Tolerance(relative: 1e-12, absolute: 1e-13), "\(m)×\(k)×\(n): \(i),\(j)")
                }
            }
        }
    }

    @Test("the built-in kernels and the system CBLAS agree",
          .enabled(if: MatrixBackend.systemCBLAS() != nil, "needs a CBLAS library such as libopenblas0"))
    func backendsAgree() throws {
        let blas = try #require(MatrixBackend.systemCBLAS())
        var data = TestData(seed: 9)
        let a: Tensor<Float> = data.tensor([70, 150]), b: Tensor<Float> = data.tensor([150, 90])
        let builtin = try a.matmul(b, backend: .builtin())
        let reference = try a.matmul(b, backend: blas)
        expectClose(builtin.scalars, reference.doubles, Tolerance(relative: 1e-5, absolute: 1e-7))
    }

    @Test("OpenBLAS starts no thread pool beside Rucksack's threads: OPENBLAS_NUM_THREADS is 1 unless the environment set it",
          .enabled(if: MatrixBackend.systemCBLAS()?.coreName != nil, "needs OpenBLAS (libopenblas0)"))
    func openBLASWithoutThreadPool() throws {
        let library = try #require(MatrixBackend.systemCBLAS())
        let setting = try #require(getenv("OPENBLAS_NUM_THREADS").map { String(cString: $0) })
        if ProcessInfo.processInfo.environment["CI"] == "true" { #expect(setting == "1") }
        // OpenBLAS's pthread builds count their pool in `blas_num_threads` (the caller included).
        let handle = try #require(dlopen(library.libraryPath, RTLD_NOW | RTLD_NOLOAD))
        if let pool = dlsym(handle, "blas_num_threads") {
            #expect(pool.assumingMemoryBound(to: Int32.self).pointee == Int32(setting))
        }
    }

    /// Each backend value carries its instruction set: products on other sets, running at the
    /// same time on other threads, leave a backend's rounding bit for bit as it was.
    @Test("a built-in backend's instruction set is its own, not the process's")
    func instructionSetPerBackend() throws {
        var data = TestData(seed: 13)
        let (a, b): (Tensor<Float>, Tensor<Float>) = (data.tensor([97, 300]), data.tensor([300, 65]))
        let best = MatrixBackend.builtin(threads: 1)
        #expect(best.instructionSet == BuiltinInstructionSet.best)
        #expect(best.name.contains(BuiltinInstructionSet.best.description))
        let alone = try a.matmul(b, backend: best)
        let others = BuiltinInstructionSet.supported.map { MatrixBackend.builtin(threads: 1, instructionSet: $0) }
        for backend in others { #expect(backend.name.contains(backend.instructionSet!.description)) }
        let rounds = 8
        let meanwhile = Mutex([Int: Result<Tensor<Float>, any Error>]())
        DispatchQueue.concurrentPerform(iterations: rounds) { round in
            let backend = round % 2 == 0 ? best : others[round / 2 % others.count]
            let product = Result { try a.matmul(b, backend: backend) }
            meanwhile.withLock { $0[round] = product }
        }
        let products = try meanwhile.withLock { results in try (0..<rounds).map { try results[$0]!.get() } }
        for (round, product) in products.enumerated() {
            if round % 2 == 0 {
                #expect(product == alone)
            } else {
                expectClose(product.doubles, alone.doubles, Tolerance.unitScale(Float.self))
            }
        }
    }

    @Test("RUCKSACK_BLAS chooses the process-wide backend")
    func environmentSelection() throws {
        let requested = ProcessInfo.processInfo.environment["RUCKSACK_BLAS"]
        if requested == "builtin" || MatrixBackend.systemCBLAS() == nil {
            #expect(MatrixBackend.current.isBuiltin)
            #expect(MatrixBackend.selection.note == nil)
        } else if requested == nil, let library = MatrixBackend.systemCBLAS() {
            // The library unless it says it runs kernels below the built-in ones; the note says which and why.
            let best = BuiltinInstructionSet.best
            let (useLibrary, reason) = MatrixBackend.prefersLibrary(coreName: library.coreName, over: best)
            #expect(MatrixBackend.current.isBuiltin == !useLibrary)
            #expect(MatrixBackend.selection.note?.hasPrefix(reason) == true)
        }
        #expect(throws: MatrixBackendError.self) { try MatrixBackend.cblas(path: "/nonexistent/libcblas.so") }
        let message = String(describing: MatrixBackendError.libraryNotLoadable(path: "/x.so", reason: "missing"))
        #expect(message.contains("/x.so"))
    }

    @Test("products summed over the leading axis equal the sum of the products", arguments: allPrecisions)
    func summedOverLeadingAxis(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 12)
            // (terms, batch, m, k, n): odd counts, one term, an empty sum and an empty contraction.
            for (terms, batch, m, k, n) in [(5, 2, 3, 7, 4), (1, 1, 4, 3, 5), (8, 3, 2, 5, 6), (0, 2, 3, 4, 5), (3, 1, 2, 0, 3)] {
                let a: Tensor<S> = data.tensor([terms, batch, m, k]), b: Tensor<S> = data.tensor([terms, batch, k, n])
                let summed = try a.matmulSummedOverLeadingAxis(b)
                #expect(summed.shape == [batch, m, n])
                var expected = [Double](repeating: 0, count: batch * m * n)
                for term in 0..<terms {
                    for g in 0..<batch {
                        let index = term * batch + g
                        let product = NaiveTensorOps.matmul(
                            Array(a.doubles[(index * m * k)..<((index + 1) * m * k)]),
                            Array(b.doubles[(index * k * n)..<((index + 1) * k * n)]), m: m, k: k, n: n)
                        for i in 0..<(m * n) { expected[g * m * n + i] += product[i] }
                    }
                }
                // Threads sum parts of the axis: the order of summation differs, hence not exact.
                expectClose(summed.scalars, expected, Tolerance.unitScale(S.self).times(10), "\(terms)×\(batch)×\(m)×\(k)×\(n)")
                let transposed = try a.transposed().matmulSummedOverLeadingAxis(b.transposed(), transposingSelf: true, transposingOther: true)
                expectClose(transposed.scalars, summed.doubles, Tolerance.unitScale(S.self))
            }
            #expect(throws: TensorError.self) { try Tensor<S>(zeros: [2, 3, 4]).matmulSummedOverLeadingAxis(Tensor<S>(zeros: [3, 4, 5])) }
        }
    }

    @Test("products with one contracted element (outer products) equal the loop, shared and transposed too", arguments: allPrecisions)
    func outerProducts(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 13)
            // The second size is large enough to be split between threads.
            for (batch, m, n) in [(3, 4, 5), (8, 256, 256)] {
                let a: Tensor<S> = data.tensor([batch, m, 1]), b: Tensor<S> = data.tensor([batch, 1, n])
                let shared: Tensor<S> = data.tensor([1, n])
                func slice(_ t: Tensor<S>, _ i: Int, _ size: Int) -> [Double] { Array(t.doubles[(i * size)..<((i + 1) * size)]) }
                let both = try a.matmul(b), right = try a.matmul(shared)
                let transposed = try a.transposed().matmul(b.transposed(), transposingSelf: true, transposingOther: true)
                for i in 0..<batch {
                    let expected = NaiveTensorOps.matmul(slice(a, i, m), slice(b, i, n), m: m, k: 1, n: n)
                    expectClose(slice(both, i, m * n), expected, Tolerance.unitScale(S.self))
                    expectClose(slice(transposed, i, m * n), expected, Tolerance.unitScale(S.self))
                    expectClose(slice(right, i, m * n), NaiveTensorOps.matmul(slice(a, i, m), shared.doubles, m: m, k: 1, n: n), Tolerance.unitScale(S.self))
                }
            }
        }
    }

    @Test("a shared left matrix times a batch equals the triple loop per product, across the kernels' blocks", arguments: Backends.all)
    func sharedLeftBatch(_ choice: Backends.Choice) throws {
        try check(Float.self)
        try check(Double.self)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 12)
            // One batch within a single block, one crossing the k (256) and m (96-192) blocks with
            // ragged edges, one with more products than threads times two and one with fewer; the
            // second and the last (a convolution's shape) are computed transposed by the kernels.
            for (batch, m, k, n) in [(5, 3, 7, 9), (4, 200, 300, 41), (2, 13, 17, 70), (1, 9, 8, 8), (5, 64, 300, 196)] {
                let a: Tensor<S> = data.tensor([m, k]), b: Tensor<S> = data.tensor([batch, k, n])
                let at = try a.transposed(), bt = try b.transposed()
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let c = try (ta ? at : a).matmul(tb ? bt : b, transposingSelf: ta, transposingOther: tb, backend: choice.backend)
                    #expect(c.shape == [batch, m, n])
                    for i in 0..<batch {
                        let bi = Array(b.doubles[(i * k * n)..<((i + 1) * k * n)])
                        let expected = NaiveTensorOps.matmul(a.doubles, bi, m: m, k: k, n: n)
                        expectClose(Array(c.scalars[(i * m * n)..<((i + 1) * m * n)]), expected,
                                    Tolerance.unitScale(S.self).times(10), "\(batch)×\(m)×\(k)×\(n) \(ta) \(tb) product \(i)")
                    }
                }
            }
        }
    }

    @Test("batched products and shared matrices", arguments: allPrecisions)
    func batched(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 10)
            let (batch, m, k, n) = (3, 4, 5, 6)
            let a: Tensor<S> = data.tensor([2, batch, m, k]), b: Tensor<S> = data.tensor([2, batch, k, n])
            let shared: Tensor<S> = data.tensor([k, n]), sharedLeft: Tensor<S> = data.tensor([m, k])
            func slice(_ t: Tensor<S>, _ i: Int, _ size: Int) -> [Double] { Array(t.doubles[(i * size)..<((i + 1) * size)]) }
            let both = try a.matmul(b), right = try a.matmul(shared), left = try sharedLeft.matmul(b)
            #expect(both.shape == [2, batch, m, n] && right.shape == both.shape && left.shape == both.shape)
            for i in 0..<(2 * batch) {
                let ai = slice(a, i, m * k), bi = slice(b, i, k * n)
                expectClose(slice(both, i, m * n).map(S.init), NaiveTensorOps.matmul(ai, bi, m: m, k: k, n: n), Tolerance.unitScale(S.self))
                expectClose(slice(right, i, m * n).map(S.init), NaiveTensorOps.matmul(ai, shared.doubles, m: m, k: k, n: n), Tolerance.unitScale(S.self))
                expectClose(slice(left, i, m * n).map(S.init), NaiveTensorOps.matmul(sharedLeft.doubles, bi, m: m, k: k, n: n), Tolerance.unitScale(S.self))
            }
            let transposedBoth = try a.transposed().matmul(b.transposed(), transposingSelf: true, transposingOther: true)
            expectClose(transposedBoth.scalars, both.doubles, Tolerance.unitScale(S.self))
            // A batch of matrices shared along a leading axis.
            let perGroup: Tensor<S> = data.tensor([batch, k, n])
            let broadcast = try a.matmul(perGroup)
            for i in 0..<(2 * batch) {
                let expected = NaiveTensorOps.matmul(slice(a, i, m * k), slice(perGroup, i % batch, k * n), m: m, k: k, n: n)
                expectClose(slice(broadcast, i, m * n).map(S.init), expected, Tolerance.unitScale(S.self))
            }
            #expect(throws: TensorError.shapeMismatch(operation: "matmul", lhs: [2, 3, 4, 5], rhs: [2, 5, 6])) {
                try a.matmul(data.tensor([2, 5, 6]))
            }
            #expect(throws: TensorError.self) { try a.matmul(data.tensor([4, 6])) }
            #expect(throws: TensorError.self) { try Tensor<S>(zeros: [3]).matmul(shared) }
        }
    }

    @Test("a library running kernels below the built-in instruction set is not chosen over the built-in kernels")
    func backendChoice() {
        let cases: [(core: String?, builtin: BuiltinInstructionSet, library: Bool)] = [
            ("Prescott", .avx512, false), ("Prescott", .avx2, false), ("Prescott", .baseline, true),
            ("Haswell", .avx512, false), ("Haswell", .avx2, true), ("Zen", .avx2, true),
            ("Cooperlake", .avx512, true), ("SkylakeX", .avx512, true), ("SANDYBRIDGE", .avx2, false),
            ("SomeFutureCore", .avx512, true), (nil, .avx512, true),
        ]
        for (core, builtin, expected) in cases {
            let (useLibrary, reason) = MatrixBackend.prefersLibrary(coreName: core, over: builtin)
            #expect(useLibrary == expected, "\(String(describing: core)) against built-in \(builtin): \(reason)")
            if let core { #expect(reason.contains(core), "\(reason)") }
        }
    }
}
