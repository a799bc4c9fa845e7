import RucksackCore
import RucksackTestSupport
import Testing

@Suite("einsum")
struct EinsumTests {
    /// Equations with the extent of each letter.
    static let equations: [String] = [
        "ij,jk->ik", "vno,ni->voi", "np,nq->npq", "ij->ji", "ijk->k", "ij,ij->", "bij,bjk->bik",
        "ab,cd->abcd", "ijk,ikl->jl", "ij,k->i", "i,i->i", "nco,nkl->nck", "vnij,vnkj->vik", "ij->",
        // Shapes of the convolution and quantity code, which map onto broadcast batched products.
        "gok,ngkl->ngol", "vngol,ngkl->vngok", "vngol,ngkl->vgok", "ngpa,mgqa->gnmpq", "ij,jk->ki", "vgok,ngkl->vngol",
        // Letters of extent 1 (u, s, c), which are dropped before planning; in uc,cu-> every letter is.
        "unso,nsi->uoi", "unso,nsi->unoi", "ucd,dc->uc", "uc,cu->", "iu,uj->ij", "uij->jiu",
    ]
    static let extents: [Character: Int] = [
        "i": 3, "j": 4, "k": 2, "l": 5, "n": 3, "o": 4, "p": 2, "q": 3, "v": 2, "a": 2, "b": 3,
        "c": 1, "d": 4, "g": 2, "m": 3, "u": 1, "s": 1,
    ]

    @Test("matches the definition", arguments: allPrecisions)
    func matchesDefinition(_ precision: any TensorScalar.Type) throws {
        try check(precision)
        func check<S: TensorScalar>(_: S.Type) throws {
            var data = TestData(seed: 20)
            for equation in Self.equations {
                let sides = equation.split(separator: "-", omittingEmptySubsequences: false)
                let inputs = sides[0].split(separator: ",").map(String.init)
                let output = String(sides[1].dropFirst())
                let operands: [Tensor<S>] = inputs.map { data.tensor($0.map { Self.extents[$0]! }) }
                let result = operands.count == 1
                    ? try Einsum.evaluate(equation, operands[0])
                    : try Einsum.evaluate(equation, operands[0], operands[1])
                #expect(result.shape == output.map { Self.extents[$0]! }, "\(equation)")
                let expected = NaiveEinsum.evaluate(inputs, output, operands.map { ($0.doubles, $0.shape) })
                expectClose(result.scalars, expected, Tolerance.unitScale(S.self), "\(equation)")
            }
        }
    }

    @Test("zero-size axes give zeros or empty results")
    func zeroSize() throws {
        let a = try Tensor<Double>(zeros: [3, 0]), b = try Tensor<Double>(zeros: [0, 2])
        #expect(try Einsum.evaluate("ij,jk->ik", a, b).scalars == [0, 0, 0, 0, 0, 0])
        #expect(try Einsum.evaluate("ij,jk->ji", a, try Tensor<Double>(zeros: [0, 0])).shape == [0, 3])
    }

    @Test("batched outer products")
    func outer() throws {
        let a = try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = try Tensor<Double>(shape: [2, 1], scalars: [10, 100])
        #expect(try a.batchedOuter(b).scalars == [10, 20, 300, 400])
    }

    @Test("malformed equations throw")
    func errors() {
        let m = try! Tensor<Float>(zeros: [2, 3])
        #expect(throws: TensorError.self) { try Einsum.evaluate("ii->i", m) }
        #expect(throws: TensorError.self) { try Einsum.evaluate("ijk->i", m) }
        #expect(throws: TensorError.self) { try Einsum.evaluate("ij,ij->ij", m, try Tensor<Float>(zeros: [3, 2])) }
        #expect(throws: TensorError.self) { try Einsum.evaluate("ij->ik", m) }
        #expect(throws: TensorError.self) { try Einsum.evaluate("ij", m) }
        #expect(throws: TensorError.self) { try Einsum.evaluate("i1->i", m) }
    }
}
