import RucksackCore
import RucksackTestSupport
import Testing

@Suite("Winograd convolution")
struct WinogradTests {
    /// A stride-1 case with 3×3 or 5×5 kernels: batch (zero included), channels, spatial size and
    /// paddings.
    struct Case: CustomStringConvertible {
        var inputShape: [Int], outChannels: Int, kernel = 3, before: [Int], after: [Int]
        var kernelShape: [Int] { [outChannels, inputShape[1], kernel, kernel] }
        var geometry: ConvolutionGeometry {
            try! ConvolutionGeometry(kernelSize: [kernel, kernel], padding: before, paddingAfter: after)
        }
        var description: String { "input \(inputShape), \(outChannels) kernels \(kernel)×\(kernel), padding \(before) / \(after)" }

        static func random(_ data: inout TestData, symmetric: Bool) -> Case {
            let kernel = data.integer(0...1) == 0 ? 3 : 5
            let before = [data.integer(0...(kernel - 1)), data.integer(0...(kernel - 1))]
            let after = symmetric ? before : [data.integer(0...(kernel - 1)), data.integer(0...(kernel - 1))]
            // Output sizes from 1 up, odd and even: whole and cut tiles.
            let size = (0..<2).map { kernel - before[$0] - after[$0] + data.integer(0...6) }.map { max($0, 1) }
            let batch = data.integer(0...5) == 0 ? 0 : data.integer(1...3)
            return Case(
                inputShape: [batch, data.integer(1...4)] + size, outChannels: data.integer(1...4), kernel: kernel, before: before, after: after)
        }
    }

    @Test("equals the direct convolution", arguments: allPrecisions)
    func forward(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 41)
            for _ in 0..<60 {
                let problem = Case.random(&data, symmetric: false)
                let x: Tensor<S> = data.tensor(problem.inputShape), w: Tensor<S> = data.tensor(problem.kernelShape)
                let y = try x.winogradConvolution(kernels: w, paddingBefore: problem.before, paddingAfter: problem.after)
                let expected = NaiveConvolution.convolution(
                    x.doubles, inputShape: problem.inputShape, w.doubles, weightShape: problem.kernelShape, problem.geometry)
                #expect(y.shape == expected.shape, "\(problem)")
                expectClose(y.scalars, expected.values, Tolerance.unitScale(S.self), "\(problem)")
            }
        }
    }

    /// The input transform takes planes narrower than 16 tiles 16 at a time, one a vector lane,
    /// and wider ones a row at a time: full groups and a remainder (2 · 13 planes), tile counts
    /// with a remainder past 16 (5 × 6 and 7 × 7 tiles), non-square planes, and one plane of 16
    /// tiles a row.
    /// Output tiles of 4 (F(4×4, 3×3)) for 3×3 kernels from about 7×7 outputs, of 2 below and for
    /// 5×5 kernels; planes narrower than 16 tiles and wider ones; paddings that start the tiles in
    /// every column phase.
    static let planeGroupCases = [
        Case(inputShape: [2, 13, 9, 11], outChannels: 3, kernel: 3, before: [1, 1], after: [1, 1]),
        Case(inputShape: [2, 13, 14, 14], outChannels: 2, kernel: 5, before: [2, 2], after: [2, 2]),
        Case(inputShape: [3, 7, 12, 10], outChannels: 2, kernel: 3, before: [0, 1], after: [2, 0]),
        Case(inputShape: [1, 17, 6, 32], outChannels: 2, kernel: 3, before: [1, 1], after: [1, 1]),
        Case(inputShape: [1, 17, 4, 40], outChannels: 2, kernel: 3, before: [0, 0], after: [0, 0]),
        Case(inputShape: [1, 3, 7, 66], outChannels: 2, kernel: 3, before: [1, 1], after: [1, 1]),
        Case(inputShape: [2, 5, 10, 67], outChannels: 3, kernel: 3, before: [0, 2], after: [2, 0]),
        Case(inputShape: [1, 4, 9, 65], outChannels: 2, kernel: 3, before: [2, 1], after: [1, 2]),
        Case(inputShape: [1, 2, 8, 70], outChannels: 2, kernel: 3, before: [0, 0], after: [0, 0]),
        // 36 · 64 · 64 transformed kernel entries (over 2¹⁷): two threads share the output channels.
        Case(inputShape: [1, 64, 5, 6], outChannels: 64, kernel: 5, before: [2, 2], after: [2, 2]),
    ]

    @Test("narrow planes, 16 at a time, and wide ones equal the direct convolution", arguments: allPrecisions, planeGroupCases)
    func planeGroups(_ precision: any TensorScalar.Type, problem: Case) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 47)
            let x: Tensor<S> = data.tensor(problem.inputShape), w: Tensor<S> = data.tensor(problem.kernelShape)
            let expected = NaiveConvolution.convolution(
                x.doubles, inputShape: problem.inputShape, w.doubles, weightShape: problem.kernelShape, problem.geometry)
            let m: Tensor<S> = data.tensor(expected.shape)
            var adjoints: [Tensor<S>] = []
            for threads in [1, 2] {
                let y = try x.winogradConvolution(
                    kernels: w, paddingBefore: problem.before, paddingAfter: problem.after, backend: .builtin(threads: threads))
                #expect(y.shape == expected.shape, "\(problem)")
                expectClose(y.scalars, expected.values, Tolerance.unitScale(S.self), "\(problem), \(threads) threads")
                adjoints.append(try m.winogradConvolution(
                    kernels: w, paddingBefore: problem.before, paddingAfter: problem.after, adjoint: true, backend: .builtin(threads: threads)))
            }
            // The threads share kernels and planes but not sums: the adjoint is the same bit for bit.
            expectClose(adjoints[1].scalars, adjoints[0].doubles, Tolerance.exact, "\(problem), adjoint on two threads")
        }
    }

    @Test("the adjoint equals the transposed convolution", arguments: allPrecisions)
    func adjoint(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 42)
            for _ in 0..<60 {
                let problem = Case.random(&data, symmetric: true)
                let outSize = try problem.geometry.outputSize(inputSize: Array(problem.inputShape.dropFirst(2)))
                let stackShape = [problem.inputShape[0], problem.outChannels] + outSize
                let m: Tensor<S> = data.tensor(stackShape), w: Tensor<S> = data.tensor(problem.kernelShape)
                let back = try m.winogradConvolution(kernels: w, paddingBefore: problem.before, paddingAfter: problem.after, adjoint: true)
                // ConvTranspose2d with this weight ([C_in, C_out, 3, 3] read as [K, C]) and padding.
                let transposed = try ConvolutionGeometry(kernelSize: [problem.kernel, problem.kernel], padding: problem.before, transposed: true)
                let expected = NaiveConvolution.transposedConvolution(
                    m.doubles, inputShape: stackShape, w.doubles, weightShape: problem.kernelShape, transposed)
                #expect(back.shape == problem.inputShape, "\(problem)")
                expectClose(back.scalars, expected.values, Tolerance.unitScale(S.self), "\(problem)")
            }
        }
    }

    @Test("the adjoint with unequal padding satisfies ⟨conv(x), m⟩ = ⟨x, adjoint(m)⟩")
    func adjointIdentity() throws {
        var data = TestData(seed: 43)
        for _ in 0..<40 {
            let problem = Case.random(&data, symmetric: false)
            guard problem.inputShape[0] > 0 else { continue }
            let x: Tensor<Double> = data.tensor(problem.inputShape), w: Tensor<Double> = data.tensor(problem.kernelShape)
            let y = try x.winogradConvolution(kernels: w, paddingBefore: problem.before, paddingAfter: problem.after)
            let m: Tensor<Double> = data.tensor(y.shape)
            let back = try m.winogradConvolution(kernels: w, paddingBefore: problem.before, paddingAfter: problem.after, adjoint: true)
            #expect(back.shape == x.shape, "\(problem)")
            let lhs = zip(y.scalars, m.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x.scalars, back.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            let scale = zip(x.scalars, back.scalars).reduce(0) { $0 + abs($1.0 * $1.1) }
            #expect(abs(lhs - rhs) <= 1e-12 * scale + 1e-14, "\(problem): \(lhs) against \(rhs)")
        }
    }

    @Test("the kernel gradient equals the sum over samples of δ times the unfolded input", arguments: allPrecisions)
    func kernelGradient(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 45)
            for _ in 0..<60 {
                let problem = Case.random(&data, symmetric: false)
                let x: Tensor<S> = data.tensor(problem.inputShape)
                let outSize = try problem.geometry.outputSize(inputSize: Array(problem.inputShape.dropFirst(2)))
                let (n, c, k, positions) = (problem.inputShape[0], problem.inputShape[1], problem.outChannels, outSize.reduce(1, *))
                let delta: Tensor<S> = data.tensor([n, k] + outSize)
                let gradient = try x.winogradKernelGradient(
                    outputGradient: delta, kernelSize: problem.kernel, paddingBefore: problem.before, paddingAfter: problem.after)
                let columns = NaiveConvolution.unfold(x.doubles, inputShape: problem.inputShape, problem.geometry)
                let taps = problem.kernel * problem.kernel
                var expected = [Double](repeating: 0, count: k * c * taps)
                for sample in 0..<n {
                    for out in 0..<k {
                        for row in 0..<(c * taps) {
                            for l in 0..<positions {
                                expected[out * c * taps + row] += Double(delta.scalars[(sample * k + out) * positions + l])
                                    * columns[(sample * c * taps + row) * positions + l]
                            }
                        }
                    }
                }
                #expect(gradient.shape == problem.kernelShape, "\(problem)")
                expectClose(gradient.scalars, expected, Tolerance.unitScale(S.self), "\(problem)")
            }
        }
    }

    @Test("per-sample kernel gradients of a stack equal each sample's kernel gradient", arguments: allPrecisions)
    func perSampleKernelGradients(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 46)
            // Random small cases, and one whose stack of 3 · 16 · 16 · 16 · 32 elements a sample
            // makes chunks of 2 samples (2²⁰ elements a chunk at most).
            var cases = (0..<30).map { _ in Case.random(&data, symmetric: false) }
            cases.append(Case(inputShape: [9, 16, 32, 64], outChannels: 8, before: [1, 1], after: [1, 1]))
            for problem in cases {
                let x: Tensor<S> = data.tensor(problem.inputShape)
                let outSize = try problem.geometry.outputSize(inputSize: Array(problem.inputShape.dropFirst(2)))
                let stack = problem.inputShape[0] > 20 ? 3 : data.integer(0...3)
                let deltas: Tensor<S> = data.tensor([stack, problem.inputShape[0], problem.outChannels] + outSize)
                let gradients = try x.winogradPerSampleKernelGradients(
                    outputGradients: deltas, kernelSize: problem.kernel, paddingBefore: problem.before, paddingAfter: problem.after)
                #expect(gradients.shape == [stack, problem.inputShape[0]] + problem.kernelShape, "\(problem)")
                for v in 0..<stack {
                    for n in 0..<problem.inputShape[0] {
                        let one = try x.sliced(axis: 0, range: n..<(n + 1)).winogradKernelGradient(
                            outputGradient: deltas.sliced(axis: 0, range: v..<(v + 1)).squeezed(at: 0).sliced(axis: 0, range: n..<(n + 1)),
                            kernelSize: problem.kernel, paddingBefore: problem.before, paddingAfter: problem.after)
                        let part = try gradients.sliced(axis: 0, range: v..<(v + 1)).sliced(axis: 1, range: n..<(n + 1))
                        expectClose(part.scalars, one.doubles, Tolerance.unitScale(S.self), "\(problem), vector \(v), sample \(n)")
                    }
                }
            }
        }
    }

    @Test("one and two threads, and chunks of samples, give identical results", arguments: allPrecisions)
    func threadsAndChunks(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 44)
            func run(_ x: Tensor<S>, _ w: Tensor<S>, threads: Int) throws -> Tensor<S> {
                try x.winogradConvolution(kernels: w, paddingBefore: [1, 1], paddingAfter: [1, 1], backend: .builtin(threads: threads))
            }
            // Transformed stacks of 2¹⁹ elements and more: both threads work on every transform.
            let x: Tensor<S> = data.tensor([2, 16, 63, 64])
            for w: Tensor<S> in [data.tensor([16, 16, 3, 3]), data.tensor([16, 16, 5, 5])] {
                expectClose(try run(x, w, threads: 2).scalars, try run(x, w, threads: 1).doubles, Tolerance.exact, "two threads, \(w.shape)")
                let delta: Tensor<S> = data.tensor(try run(x, w, threads: 1).shape)
                func gradient(threads: Int) throws -> Tensor<S> {
                    try x.winogradKernelGradient(
                        outputGradient: delta, kernelSize: w.shape[2], paddingBefore: [1, 1], paddingAfter: [1, 1], backend: .builtin(threads: threads))
                }
                expectClose(try gradient(threads: 2).scalars, try gradient(threads: 1).doubles, Tolerance.exact, "kernel gradient, two threads, \(w.shape)")
            }
            // 16 · 16 · 32² = 2¹⁸ transformed elements a sample: chunks of 4 samples, which the
            // halves of 10 samples cut differently from the whole.
            let many: Tensor<S> = data.tensor([10, 16, 64, 64]), kernels: Tensor<S> = data.tensor([8, 16, 3, 3])
            let halves = try [0..<5, 5..<10].map { try run(many.sliced(axis: 0, range: $0), kernels, threads: 2).scalars }
            expectClose(try run(many, kernels, threads: 2).scalars, (halves[0] + halves[1]).map(Double.init), Tolerance.exact, "chunks")
            // The kernel gradient sums over chunks: the same as the sum of the halves' gradients
            // up to the order of summation.
            let delta: Tensor<S> = data.tensor([10, 8, 64, 64])
            func gradient(_ range: Range<Int>, threads: Int) throws -> Tensor<S> {
                try many.sliced(axis: 0, range: range).winogradKernelGradient(
                    outputGradient: delta.sliced(axis: 0, range: range), kernelSize: 3, paddingBefore: [1, 1], paddingAfter: [1, 1],
                    backend: .builtin(threads: threads))
            }
            let whole = try gradient(0..<10, threads: 2)
            expectClose(try gradient(0..<10, threads: 1).scalars, whole.doubles, Tolerance.exact, "kernel gradient, two threads")
            let summed = try gradient(0..<5, threads: 2) + gradient(5..<10, threads: 2)
            expectClose(whole.scalars, summed.doubles, Tolerance.unitScale(S.self), "kernel gradient in chunks")
        }
    }

    @Test("bad shapes and paddings throw errors naming them")
    func errors() throws {
        let x = try Tensor<Float>(zeros: [1, 2, 4, 4])
        #expect(throws: TensorError.shapeMismatch(operation: "Winograd convolution", lhs: [1, 2, 4, 4], rhs: [3, 2, 4, 4])) {
            try x.winogradConvolution(kernels: Tensor(zeros: [3, 2, 4, 4]), paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.shapeMismatch(operation: "Winograd convolution", lhs: [1, 2, 4, 4], rhs: [3, 2, 5, 3])) {
            try x.winogradConvolution(kernels: Tensor(zeros: [3, 2, 5, 3]), paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.invalidArgument(
            operation: "Winograd convolution", reason: "input [1, 2, 4, 4] with padding [0, 0], [0, 0] is smaller than the 5×5 kernel")) {
            try x.winogradConvolution(kernels: Tensor(zeros: [3, 2, 5, 5]), paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.self) {
            try x.winogradConvolution(kernels: Tensor(zeros: [2, 3, 5, 5]), paddingBefore: [5, 0], paddingAfter: [0, 0], adjoint: true)
        }
        #expect(throws: TensorError.invalidArgument(operation: "Winograd kernel gradient", reason: "kernel size 4 is neither 3 nor 5")) {
            try x.winogradKernelGradient(outputGradient: Tensor(zeros: [1, 3, 1, 1]), kernelSize: 4, paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.shapeMismatch(operation: "Winograd convolution", lhs: [1, 2, 4, 4], rhs: [3, 4, 3, 3])) {
            try x.winogradConvolution(kernels: Tensor(zeros: [3, 4, 3, 3]), paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.self) {
            try x.winogradConvolution(kernels: Tensor(zeros: [2, 3, 3, 3]), paddingBefore: [3, 0], paddingAfter: [0, 0], adjoint: true)
        }
        #expect(throws: TensorError.shapeMismatch(operation: "Winograd kernel gradient", lhs: [1, 2, 4, 4], rhs: [1, 3, 3, 2])) {
            try x.winogradKernelGradient(outputGradient: Tensor(zeros: [1, 3, 3, 2]), kernelSize: 3, paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
        #expect(throws: TensorError.self) {
            try Tensor<Float>(zeros: [1, 2, 1, 4]).winogradConvolution(kernels: Tensor(zeros: [3, 2, 3, 3]), paddingBefore: [0, 0], paddingAfter: [0, 0])
        }
    }
}
