import Foundation

/// Einstein summation over one or two tensors, e.g. `"vno,ni->voi"`.
///
/// Subscripts are letters, one per axis, and each operand lists distinct letters (no
/// diagonals). A letter missing from the output is summed over. Two-operand contractions are
/// rearranged into a single batched matrix product: letters in both operands and the output are
/// batch axes, letters in both operands only are contracted, the rest are free rows or columns.
public enum Einsum {
    /// Evaluates `equation` on one or two operands.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func evaluate<Scalar: TensorScalar>(
        _ equation: String, _ operands: Tensor<Scalar>..., backend: MatrixBackend = .current
    ) throws -> Tensor<Scalar> {
        let parsed = try Equation(equation, operands: operands.map(\.shape))
        switch operands.count {
        case 1:
            let summed = try sumOut(operands[0], letters: parsed.inputs[0], keeping: Set(parsed.output))
            return try arrange(summed.tensor, from: summed.letters, to: parsed.output)
        default:
            return try contract(operands[0], operands[1], parsed, backend: backend)
        }
    }

    private static func contract<Scalar: TensorScalar>(
        _ lhs: Tensor<Scalar>, _ rhs: Tensor<Scalar>, _ equation: Equation, backend: MatrixBackend
    ) throws -> Tensor<Scalar> {
        let output = Set(equation.output)
        let (left, right) = (equation.inputs[0], equation.inputs[1])
        // Letters that appear in one operand only and not in the output are summed away first.
        let a = try sumOut(lhs, letters: left, keeping: output.union(right))
        let b = try sumOut(rhs, letters: right, keeping: output.union(left))
        let batch = a.letters.filter { b.letters.contains($0) && output.contains($0) }
        let contracted = a.letters.filter { b.letters.contains($0) && !output.contains($0) }
        let rows = a.letters.filter { !b.letters.contains($0) }
        let columns = b.letters.filter { !a.letters.contains($0) }
        let extent = equation.extents
        func size(_ letters: [Character]) -> Int { letters.reduce(1) { $0 * extent[$1]! } }

        let lhsMatrix = try arrange(a.tensor, from: a.letters, to: batch + rows + contracted)
            .reshaped([size(batch), size(rows), size(contracted)])
        // Keep the right operand in whichever of its two natural layouts avoids a copy.
        let rhsTransposed = columnsPrecedeContracted(b.letters, columns: columns, contracted: contracted)
        let rhsOrder = rhsTransposed ? batch + columns + contracted : batch + contracted + columns
        let rhsMatrix = try arrange(b.tensor, from: b.letters, to: rhsOrder)
            .reshaped(rhsTransposed ? [size(batch), size(columns), size(contracted)]
                                    : [size(batch), size(contracted), size(columns)])
        let product = try lhsMatrix.matmul(rhsMatrix, transposingOther: rhsTransposed, backend: backend)
        let productLetters = batch + rows + columns
        let unflattened = try product.reshaped(productLetters.map { extent[$0]! })
        return try arrange(unflattened, from: productLetters, to: equation.output)
    }

    private static func columnsPrecedeContracted(
        _ letters: [Character], columns: [Character], contracted: [Character]
    ) -> Bool {
        guard let firstColumn = columns.first, let firstContracted = contracted.first else { return false }
        return letters.firstIndex(of: firstColumn)! < letters.firstIndex(of: firstContracted)!
    }

    /// Sums the axes whose letters are not in `keeping`.
    private static func sumOut<Scalar: TensorScalar>(
        _ tensor: Tensor<Scalar>, letters: [Character], keeping: Set<Character>
    ) throws -> (tensor: Tensor<Scalar>, letters: [Character]) {
        let dropped = letters.indices.filter { !keeping.contains(letters[$0]) }
        guard !dropped.isEmpty else { return (tensor, letters) }
        return (try tensor.sum(axes: dropped), letters.filter { keeping.contains($0) })
    }

    /// Permutes a tensor labelled `from` into the letter order `to` (same letters).
    private static func arrange<Scalar: TensorScalar>(
        _ tensor: Tensor<Scalar>, from: [Character], to: [Character]
    ) throws -> Tensor<Scalar> {
        try tensor.permuted(to.map { from.firstIndex(of: $0)! })
    }

    /// A parsed and validated equation.
    struct Equation {
        var inputs: [[Character]]
        var output: [Character]
        var extents: [Character: Int] = [:]

        init(_ text: String, operands: [[Int]]) throws {
            let operation = "einsum \"\(text)\""
            let sides = text.replacingOccurrences(of: " ", with: "").components(separatedBy: "->")
            guard sides.count == 2 else {
                throw TensorError.invalidArgument(operation: operation, reason: "expected inputs->output")
            }
            inputs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
            output = Array(sides[1])
            guard (1...2).contains(operands.count), inputs.count == operands.count else {
                throw TensorError.invalidArgument(
                    operation: operation, reason: "\(inputs.count) subscripts for \(operands.count) operands (one or two supported)")
            }
            for labels in inputs + [output] {
                guard labels.allSatisfy(\.isLetter), Set(labels).count == labels.count else {
                    throw TensorError.invalidArgument(
                        operation: operation, reason: "subscripts \(String(labels)) must be distinct letters")
                }
            }
            for (labels, shape) in zip(inputs, operands) {
                guard labels.count == shape.count else {
                    throw TensorError.invalidArgument(
                        operation: operation, reason: "subscripts \(String(labels)) do not fit shape \(shape)")
                }
                for (letter, size) in zip(labels, shape) {
                    if let known = extents[letter], known != size {
                        throw TensorError.shapeMismatch(operation: operation, lhs: operands[0], rhs: operands.last!)
                    }
                    extents[letter] = size
                }
            }
            if let missing = output.first(where: { extents[$0] == nil }) {
                throw TensorError.invalidArgument(
                    operation: operation, reason: "output letter \(missing) appears in no input")
            }
        }
    }
}

extension Tensor {
    /// Per-sample outer products: `[N, p] ⊗ [N, q] → [N, p, q]`.
    public func batchedOuter(_ other: Tensor, backend: MatrixBackend = .current) throws -> Tensor {
        try Einsum.evaluate("np,nq->npq", self, other, backend: backend)
    }
}
