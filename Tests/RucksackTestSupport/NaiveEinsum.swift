/// Einstein summation by looping over every assignment of every letter.
public enum NaiveEinsum {
    public static func evaluate(
        _ inputs: [String], _ output: String, _ operands: [(values: [Double], shape: [Int])]
    ) -> [Double] {
        var extent: [Character: Int] = [:]
        for (labels, operand) in zip(inputs, operands) {
            for (letter, size) in zip(labels, operand.shape) { extent[letter] = size }
        }
        let letters = Array(extent.keys).sorted()
        let outShape = output.map { extent[$0]! }
        var result = [Double](repeating: 0, count: outShape.reduce(1, *))
        for assignment in NaiveIndexing.all(letters.map { extent[$0]! }) {
            let value = Dictionary(uniqueKeysWithValues: zip(letters, assignment))
            var product = 1.0
            for (labels, operand) in zip(inputs, operands) {
                product *= operand.values[NaiveIndexing.flat(labels.map { value[$0]! }, in: operand.shape)]
            }
            result[NaiveIndexing.flat(output.map { value[$0]! }, in: outShape)] += product
        }
        return result
    }
}
