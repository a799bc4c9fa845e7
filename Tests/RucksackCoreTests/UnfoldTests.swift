import RucksackCore
import RucksackTestSupport
import Testing

@Suite("unfold and fold")
struct UnfoldTests {
    @Test("unfold equals the im2col definition", arguments: allPrecisions)
    func unfoldMatchesDefinition(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 11)
            for _ in 0..<60 {
                let problem = ConvolutionCase.random(&data, transposed: false)
                let x: Tensor<S> = data.tensor(problem.inputShape)
                let columns = try x.unfolded(problem.geometry)
                let expected = NaiveConvolution.unfold(x.doubles, inputShape: problem.inputShape, problem.geometry)
                expectClose(columns.scalars, expected, Tolerance.exact, "\(problem)")
                let k = problem.geometry.kernelSize.reduce(1, *)
                #expect(columns.shape.prefix(2) == [problem.inputShape[0], problem.inputShape[1] * k])
            }
        }
    }

    @Test("grouped convolution by unfold and einsum equals direct convolution", arguments: allPrecisions)
    func convolutionThroughUnfold(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 12)
            for _ in 0..<40 {
                let problem = ConvolutionCase.random(&data, transposed: false)
                let g = problem.geometry
                let x: Tensor<S> = data.tensor(problem.inputShape)
                let w: Tensor<S> = data.tensor(problem.weightShape)
                let (batch, outChannels) = (problem.inputShape[0], problem.weightShape[0])
                let columns = try x.unfolded(g)
                let rowsPerGroup = columns.shape[1] / g.groups
                let grouped = try columns.reshaped([batch, g.groups, rowsPerGroup, columns.shape[2]])
                let kernels = try w.reshaped([g.groups, outChannels / g.groups, rowsPerGroup])
                let y = try Einsum.evaluate("gok,ngkl->ngol", kernels, grouped)
                let expected = NaiveConvolution.convolution(
                    x.doubles, inputShape: problem.inputShape, w.doubles, weightShape: problem.weightShape, g)
                #expect(y.count == expected.values.count)
                expectClose(y.scalars, expected.values, Tolerance.unitScale(S.self), "\(problem)")
            }
        }
    }

    @Test("transposed convolution by transposed unfold equals the scatter definition", arguments: allPrecisions)
    func transposedConvolutionThroughUnfold(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 13)
            for _ in 0..<40 {
                let problem = ConvolutionCase.random(&data, transposed: true)
                let g = problem.geometry
                let x: Tensor<S> = data.tensor(problem.inputShape)
                let w: Tensor<S> = data.tensor(problem.weightShape)
                let (batch, inChannels, outPerGroup) = (problem.inputShape[0], problem.inputShape[1], problem.weightShape[1])
                let taps = g.kernelSize.reduce(1, *)
                let columns = try x.unfolded(g)
                let grouped = try columns.reshaped([batch, g.groups, inChannels / g.groups, taps, columns.shape[2]])
                let kernels = try w.reshaped([g.groups, inChannels / g.groups, outPerGroup, taps])
                let y = try Einsum.evaluate("gick,ngikl->ngcl", kernels, grouped)
                let expected = NaiveConvolution.transposedConvolution(
                    x.doubles, inputShape: problem.inputShape, w.doubles, weightShape: problem.weightShape, g)
                #expect(y.count == expected.values.count)
                expectClose(y.scalars, expected.values, Tolerance.unitScale(S.self), "\(problem)")
            }
        }
    }

    @Test("fold is the adjoint of unfold: <unfold(x), y> = <x, fold(y)>", arguments: [false, true])
    func foldIsAdjoint(transposed: Bool) throws {
        var data = TestData(seed: transposed ? 15 : 14)
        for _ in 0..<60 {
            let problem = ConvolutionCase.random(&data, transposed: transposed)
            let x: Tensor<Double> = data.tensor(problem.inputShape)
            let columns = try x.unfolded(problem.geometry)
            let y: Tensor<Double> = data.tensor(columns.shape)
            let folded = try y.folded(
                problem.geometry, channels: problem.inputShape[1], inputSize: Array(problem.inputShape.dropFirst(2)))
            #expect(folded.shape == x.shape)
            let lhs = zip(columns.scalars, y.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x.scalars, folded.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            expectClose([lhs], [rhs], Tolerance(relative: 1e-12, absolute: 1e-13), "\(problem)")
        }
    }

    // From half a million elements the kernels split the planes between threads (when the backend
    // has two or more, as on CI's two cores); the split must not change a single element.
    @Test("unfold and fold of a large batch, split between threads, equal the definition", arguments: allPrecisions)
    func largeBatch(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 17)
            let shape = [2, 32, 32, 32]
            let g = try ConvolutionGeometry(kernelSize: [3, 3], stride: [1, 1], padding: [1, 1])
            let x: Tensor<S> = data.tensor(shape)
            let columns = try x.unfolded(g)
            expectClose(columns.scalars, NaiveConvolution.unfold(x.doubles, inputShape: shape, g), Tolerance.exact, "unfold")
            let y: Tensor<S> = data.tensor(columns.shape)
            let folded = try y.folded(g, channels: shape[1], inputSize: [32, 32])
            let lhs = zip(columns.doubles, y.doubles).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x.doubles, folded.doubles).reduce(0) { $0 + $1.0 * $1.1 }
            expectClose([rhs], [lhs], Tolerance.unitScale(S.self).times(100), "fold")
        }
    }

    @Test("unfold refuses inputs that do not fit the geometry")
    func rejectsBadInput() throws {
        let g = try ConvolutionGeometry(kernelSize: [3, 3], groups: 2)
        #expect(throws: TensorError.self) { try Tensor<Float>(zeros: [1, 3, 5, 5]).unfolded(g) }  // 3 channels, 2 groups
        #expect(throws: TensorError.self) { try Tensor<Float>(zeros: [1, 2, 5]).unfolded(g) }  // 1 spatial axis
        #expect(throws: TensorError.self) { try Tensor<Float>(zeros: [1, 2, 2, 5]).unfolded(g) }  // too small
        #expect(throws: TensorError.self) {
            try ConvolutionGeometry(kernelSize: [3], stride: [2], transposed: true, outputPadding: [2])
        }
        #expect(throws: TensorError.self) { try ConvolutionGeometry(kernelSize: [3], stride: [0]) }
        #expect(throws: TensorError.self) {
            try Tensor<Float>(zeros: [1, 18, 8]).folded(g, channels: 2, inputSize: [5, 5])  // 9 positions
        }
    }
}

@Suite("window maxima")
struct WindowMaximumTests {
    @Test("window maxima equal the argmax of the unfolded windows", arguments: [false, true])
    func matchesUnfold(dilated: Bool) throws {
        var data = TestData(seed: 16)
        var checked = 0
        for _ in 0..<60 {
            var problem = ConvolutionCase.random(&data, transposed: false)
            problem.inputShape[0] = max(problem.inputShape[0], 1)
            let g = problem.geometry
            guard zip(g.paddingBefore, g.kernelSize).allSatisfy({ $0 <= $1 / 2 }) else { continue }
            let pooling = try ConvolutionGeometry(kernelSize: g.kernelSize, stride: g.stride, padding: g.paddingBefore,
                                                  dilation: dilated ? g.dilation : nil)
            let x: Tensor<Double> = data.tensor(problem.inputShape)
            let planes = try x.reshaped([problem.inputShape[0] * problem.inputShape[1], 1] + Array(problem.inputShape.dropFirst(2)))
            let columns = try planes.unfolded(pooling, paddingValue: -.infinity)
            let best = try columns.argmax(axis: 1).indices
            let positions = columns.shape[2], planeSize = x.count / max(planes.shape[0], 1)
            let iota = try Tensor<Double>(shape: planes.shape, scalars: (0..<x.count).map { Double($0 % max(planeSize, 1)) })
                .unfolded(pooling, paddingValue: -1)
            let expected = best.enumerated().map { slot, tap in
                let plane = slot / positions
                return plane * planeSize + Int(iota.scalars[(plane * columns.shape[1] + tap) * positions + slot % positions])
            }
            let maxima = try x.windowMaxima(pooling)
            #expect(maxima.indices == expected, "\(problem)")
            #expect(maxima.values == expected.map { x.scalars[$0] }, "\(problem)")
            checked += 1
        }
        #expect(checked >= 10)
    }

    @Test("ties, NaN, a batch split between threads, rows of hundreds of windows, strides 1, 2 and 3: the first maximum in tap order, NaN counting as one",
          arguments: allPrecisions)
    func tiesAndNaN(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 18)
            let cases = [
                ([2, 32, 32, 32], try ConvolutionGeometry(kernelSize: [3, 3], stride: [1, 1], padding: [1, 1])),
                ([3, 2, 700], try ConvolutionGeometry(kernelSize: [3], stride: [2], padding: [1])),
                ([2, 3, 13, 13], try ConvolutionGeometry(kernelSize: [3, 3], stride: [2, 2], padding: [1, 1])),
                ([2, 3, 11, 10], try ConvolutionGeometry(kernelSize: [2, 4], stride: [3, 3], padding: [1, 2])),
            ]
            for (shape, pooling) in cases {
                // Small integers make ties common; a few NaN appear among them.
                let random: Tensor<S> = data.tensor(shape)
                var values = random.scalars.map { ($0 * 3).rounded() }
                for i in stride(from: 0, to: values.count, by: 997) { values[i] = .nan }
                let x = try Tensor<S>(shape: shape, scalars: values)
                let planeSize = shape.dropFirst(2).reduce(1, *)
                let planes = try x.reshaped([shape[0] * shape[1], 1] + Array(shape.dropFirst(2)))
                let columns = try planes.unfolded(pooling, paddingValue: -.infinity)
                let iota = try Tensor<S>(shape: planes.shape, scalars: (0..<x.count).map { S($0 % planeSize) }).unfolded(pooling, paddingValue: -1)
                let best = try columns.argmax(axis: 1).indices
                let positions = columns.shape[2]
                let expected = best.enumerated().map { slot, tap in
                    let plane = slot / positions
                    return plane * planeSize + Int(iota.scalars[(plane * columns.shape[1] + tap) * positions + slot % positions])
                }
                let maxima = try x.windowMaxima(pooling)
                #expect(maxima.indices == expected, "\(shape)")
                // The values are the winners' (NaN where a NaN won).
                #expect(zip(maxima.values, expected).allSatisfy { $0.isNaN ? x.scalars[$1].isNaN : $0 == x.scalars[$1] }, "\(shape)")
            }
        }
    }

    @Test("adding into blocks equals the plain scatter, also when the blocks are shared out over threads")
    func addedIntoManyBlocks() throws {
        var data = TestData(seed: 23)
        for (blocks, blockSize, width) in [(3, 10, 4), (130, 5000, 1300)] {  // 650 000 elements: two threads
            let y: Tensor<Float> = data.tensor([blocks, width])
            let indices = (0..<width).map { ($0 * 7919) % blockSize } + [0]  // with a repeated index
            let values = try Tensor(shape: [blocks, width + 1], scalars: (0..<blocks).flatMap { Array(y.scalars[($0 * width)..<(($0 + 1) * width)]) + [1] })
            var expected = [Float](repeating: 0, count: blocks * blockSize)
            for block in 0..<blocks {
                for (i, index) in indices.enumerated() { expected[block * blockSize + index] += values.scalars[block * (width + 1) + i] }
            }
            let added = values.addedIntoBlocks(of: blockSize, at: indices)
            #expect(added.count == expected.count && zip(added, expected).allSatisfy { $0 == $1 }, "\(blocks) blocks of \(blockSize)")
        }
    }

    /// One block (one output-gradient stack of max pooling) of independent runs, few and many
    /// (650 000 elements: two threads), and a part count that does not divide the block (one part).
    @Test("adding into independent runs of a block equals the plain scatter")
    func addedIntoParts() throws {
        var data = TestData(seed: 24)
        for (blocks, parts, partSize, partWidth) in [(1, 3, 10, 4), (2, 130, 5000, 1300), (1, 1, 7, 3)] {
            let values: Tensor<Float> = data.tensor([blocks, parts * partWidth])
            // Each run's indices stay in its run of the block, one repeated.
            let indices = (0..<parts).flatMap { part in (0..<partWidth).map { part * partSize + ($0 * 7919 + part) % partSize } }
                .enumerated().map { $0.offset % partWidth == partWidth - 1 ? ($0.offset / partWidth) * partSize : $0.element }
            var expected = [Float](repeating: 0, count: blocks * parts * partSize)
            for block in 0..<blocks {
                for (i, index) in indices.enumerated() { expected[block * parts * partSize + index] += values.scalars[block * parts * partWidth + i] }
            }
            for claimed in [parts, parts + 1] {
                let added = values.addedIntoBlocks(of: parts * partSize, at: indices, parts: claimed)
                #expect(added.count == expected.count && zip(added, expected).allSatisfy { $0 == $1 }, "\(blocks) blocks of \(parts) parts, \(claimed) claimed")
            }
        }
    }

    @Test("picking from blocks and adding into blocks are adjoint")
    func adjoint() throws {
        var data = TestData(seed: 17)
        let x: Tensor<Double> = data.tensor([3, 10]), y: Tensor<Double> = data.tensor([3, 4])
        let indices = [7, 0, 7, 3]
        let picked = x.pickedFromBlocks(of: 10, at: indices), added = y.addedIntoBlocks(of: 10, at: indices)
        #expect(picked.count == 12 && added.count == 30)
        let lhs = zip(picked, y.scalars).reduce(0) { $0 + $1.0 * $1.1 }, rhs = zip(x.scalars, added).reduce(0) { $0 + $1.0 * $1.1 }
        expectClose([lhs], [rhs], Tolerance(relative: 1e-12, absolute: 1e-13))
    }
}
