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
        // Axes of extent 1 hold nothing to rearrange; without them more products run in place.
        let unit = Set(parsed.extents.filter { $0.value == 1 }.keys)
        let kept = { (letters: [Character]) in letters.filter { !unit.contains($0) } }
        if !unit.isEmpty, parsed.inputs.allSatisfy({ !kept($0).isEmpty }) {
            let reduced = try Equation(
                parsed.inputs.map { String(kept($0)) }.joined(separator: ",") + "->" + String(kept(parsed.output)),
                operands: parsed.inputs.map { kept($0).map { parsed.extents[$0]! } })
            let squeezed = try zip(operands, reduced.inputs).map { operand, letters in
                try operand.reshaped(letters.map { reduced.extents[$0]! })
            }
            return try evaluate(reduced, squeezed, backend: backend).reshaped(parsed.output.map { parsed.extents[$0]! })
        }
        return try evaluate(parsed, operands, backend: backend)
    }

    private static func evaluate<Scalar: TensorScalar>(
        _ parsed: Equation, _ operands: [Tensor<Scalar>], backend: MatrixBackend
    ) throws -> Tensor<Scalar> {
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
        let swapped = Plan(b.letters, a.letters, output: equation.output).map { plan in
            var plan = plan
            plan.swapped = true
            return plan
        }
        let plans = [Plan(a.letters, b.letters, output: equation.output), swapped].compactMap { $0 }
            + [Plan(fallback: a.letters, b.letters, output: equation.output)]
        let extent = equation.extents
        func sizes(_ letters: [Character]) -> [Int] { letters.map { extent[$0]! } }
        func size(_ letters: [Character]) -> Int { letters.reduce(1) { $0 * extent[$1]! } }
        // Fewest copies first; then fewest separate products, so that a weight times a batch of
        // vectors is one matrix product, not one matrix-vector product per sample.
        let plan = plans.min { ($0.copies, size($0.prefix)) < ($1.copies, size($1.prefix)) }!
        let (x, y) = plan.swapped ? (b.tensor, a.tensor) : (a.tensor, b.tensor)

        let xMatrix = try arrange(x, from: plan.xLetters, to: plan.xOrder)
            .reshaped(sizes(plan.xBatch) + (plan.xTransposed ? [size(plan.contracted), size(plan.rows)] : [size(plan.rows), size(plan.contracted)]))
        let yMatrix = try arrange(y, from: plan.yLetters, to: plan.yOrder)
            .reshaped(sizes(plan.yBatch) + (plan.yTransposed ? [size(plan.columns), size(plan.contracted)] : [size(plan.contracted), size(plan.columns)]))
        let product = try xMatrix.matmul(yMatrix, transposingSelf: plan.xTransposed, transposingOther: plan.yTransposed, backend: backend)
        let productLetters = plan.prefix + plan.rows + plan.columns
        return try arrange(product.reshaped(sizes(productLetters)), from: productLetters, to: equation.output)
    }

    /// How a two-operand contraction maps onto one (broadcasting) batched matrix product
    /// `x · y`: output `[prefix, rows, columns]`, each operand's batch axes being the prefix or
    /// a trailing part of it. Plans that leave the operands and the result in place are preferred.
    struct Plan {
        var swapped = false
        var xLetters: [Character], yLetters: [Character]
        var prefix: [Character], rows: [Character], columns: [Character], contracted: [Character]
        var xBatch: [Character], yBatch: [Character]
        var xOrder: [Character] = [], yOrder: [Character] = []
        var xTransposed = false, yTransposed = false
        /// How many tensors must be rearranged (operands and result).
        var copies = 0

        /// A plan that produces the output letters in order: the output ends with `x`-only
        /// letters (rows) followed by `y`-only letters (columns).
        init?(_ x: [Character], _ y: [Character], output: [Character]) {
            let yOnly = Set(y).subtracting(x), xOnly = Set(x).subtracting(y)
            var rest = output[...]
            while let last = rest.last, yOnly.contains(last) { rest = rest.dropLast() }
            let columns = Array(output[rest.endIndex...])
            var prefix = rest
            while let last = prefix.last, xOnly.contains(last) { prefix = prefix.dropLast() }
            let rows = Array(rest[prefix.endIndex...])
            let xBatch = prefix.filter(x.contains), yBatch = prefix.filter(y.contains)
            guard (xBatch.elementsEqual(prefix) && prefix.suffix(yBatch.count).elementsEqual(yBatch))
                || (yBatch.elementsEqual(prefix) && prefix.suffix(xBatch.count).elementsEqual(xBatch)) else { return nil }
            self.init(x, y, prefix: Array(prefix), rows: rows, columns: columns, xBatch: xBatch, yBatch: yBatch, outputOrdered: true)
        }

        /// The plan that always works: batch letters first, the result rearranged afterwards.
        init(fallback x: [Character], _ y: [Character], output: [Character]) {
            let batch = x.filter { y.contains($0) && output.contains($0) }
            self.init(x, y, prefix: batch, rows: x.filter { !y.contains($0) }, columns: y.filter { !x.contains($0) },
                      xBatch: batch, yBatch: batch, outputOrdered: batch + x.filter { !y.contains($0) } + y.filter { !x.contains($0) } == output)
        }

        private init(
            _ x: [Character], _ y: [Character], prefix: [Character], rows: [Character], columns: [Character],
            xBatch: [Character], yBatch: [Character], outputOrdered: Bool
        ) {
            (xLetters, yLetters) = (x, y)
            (self.prefix, self.rows, self.columns, self.xBatch, self.yBatch) = (prefix, rows, columns, xBatch, yBatch)
            contracted = x.filter { y.contains($0) && !prefix.contains($0) }
            // Each operand stays as it is when its letters already read [batch, rows, K] or
            // [batch, K, rows] (a transposed product); otherwise it is rearranged.
            if x == xBatch + contracted + rows, !rows.isEmpty, !contracted.isEmpty {
                xOrder = x
                xTransposed = true
            } else {
                xOrder = xBatch + rows + contracted
                copies += x == xOrder ? 0 : 1
            }
            if y == yBatch + columns + contracted, !columns.isEmpty, !contracted.isEmpty {
                yOrder = y
                yTransposed = true
            } else {
                yOrder = yBatch + contracted + columns
                copies += y == yOrder ? 0 : 1
            }
            copies += outputOrdered ? 0 : 1
        }
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
