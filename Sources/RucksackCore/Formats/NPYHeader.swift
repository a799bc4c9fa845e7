/// The dictionary at the start of a `.npy` file, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NPYHeader: Sendable, Equatable {
    /// The NumPy type string, e.g. `<f4`.
    var descr: String
    /// Whether the data is stored column-major.
    var fortranOrder: Bool
    /// The extent of each axis.
    var shape: [Int]
    /// File offsets of the `descr` and `shape` values, for error messages.
    var descrOffset: Int
    var shapeOffset: Int

    /// The Python literal NumPy writes, before padding: keys sorted, a trailing `, `, and room
    /// for the first axis to grow to 21 digits so that appending tools can rewrite it in place.
    static func literal(descr: String, shape: [Int]) -> String {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            text += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        return text
    }

    /// The element type and byte order a type string denotes, or `nil` if unsupported.
    ///
    /// Accepts NumPy's canonical type strings: a byte-order mark (`<` little, `>` big,
    /// `=` or `|` native, or none for native) followed by `f4`, `f8`, `i8`, `i4`, `u1` or `b1`.
    static func dtype(forDescr descr: String) -> (dtype: DType, bigEndian: Bool)? {
        var code = Substring(descr)
        var bigEndian: Bool
        #if _endian(big)
        bigEndian = true
        #else
        bigEndian = false
        #endif
        switch code.first {
        case "<": bigEndian = false; code = code.dropFirst()
        case ">": bigEndian = true; code = code.dropFirst()
        case "=", "|": code = code.dropFirst()
        default: break
        }
        switch code {
        case "f4": return (.float32, bigEndian)
        case "f8": return (.float64, bigEndian)
        case "i8": return (.int64, bigEndian)
        case "i4": return (.int32, bigEndian)
        case "u1": return (.uint8, false)
        case "b1": return (.bool, false)
        default: return nil
        }
    }

    /// The type string Rucksack writes for `dtype`, as `numpy.dtype(...).str` spells it.
    static func descr(for dtype: DType) -> String {
        switch dtype {
        case .float32: "<f4"
        case .float64: "<f8"
        case .int64: "<i8"
        case .int32: "<i4"
        case .uint8: "|u1"
        case .bool: "|b1"
        }
    }
}

/// A strict parser for the header dictionary. It accepts exactly the Python literal syntax
/// NumPy writes (any key order, either quote style, optional trailing commas, whitespace),
/// never evaluates anything, and reports errors with absolute file offsets.
struct NPYHeaderParser {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// Parses the header text; `bytes` keeps the file's indices.
    /// - Throws: ``FormatError/invalidHeader(format:offset:reason:)`` or
    ///   ``FormatError/invalidShape(format:offset:tensor:reason:)``.
    static func parse(_ bytes: ArraySlice<UInt8>) throws -> NPYHeader {
        var parser = NPYHeaderParser(bytes: bytes, index: bytes.startIndex)
        return try parser.parseDictionary()
    }

    private func error(_ reason: String, at offset: Int? = nil) -> FormatError {
        .invalidHeader(format: .npy, offset: offset ?? index, reason: reason)
    }

    private var current: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    private func describeCurrent() -> String {
        guard let byte = current else { return "the end of the header" }
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ character: Character, context: String) throws {
        skipWhitespace()
        guard let byte = current, byte == character.asciiValue else {
            throw error("expected '\(character)' \(context), found \(describeCurrent())")
        }
        index += 1
    }

    private mutating func parseDictionary() throws -> NPYHeader {
        let start = index
        try expect("{", context: "at the start of the header dictionary")
        var descr: (String, Int)?
        var fortranOrder: Bool?
        var shape: ([Int], Int)?
        while true {
            skipWhitespace()
            if current == UInt8(ascii: "}") { index += 1; break }
            let keyOffset = index
            let key = try parseString()
            try expect(":", context: "after key '\(key)'")
            skipWhitespace()
            let valueOffset = index
            switch key {
            case "descr" where descr == nil:
                guard current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") else {
                    throw FormatError.unsupportedDType(
                        format: .npy, offset: valueOffset, dtype: "non-string descr (structured dtype)", tensor: nil)
                }
                descr = (try parseString(), valueOffset)
            case "fortran_order" where fortranOrder == nil:
                fortranOrder = try parseBool()
            case "shape" where shape == nil:
                shape = (try parseShape(), valueOffset)
            case "descr", "fortran_order", "shape":
                throw error("key '\(key)' appears twice", at: keyOffset)
            default:
                throw error("unexpected key '\(key)'; the header must have exactly descr, fortran_order and shape",
                            at: keyOffset)
            }
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
            } else if current == UInt8(ascii: "}") {
                index += 1
                break
            } else {
                throw error("expected ',' or '}' in the header dictionary, found \(describeCurrent())")
            }
        }
        // NumPy pads the header with spaces and ends it with a newline.
        skipWhitespace()
        guard index == bytes.endIndex else { throw error("unexpected \(describeCurrent()) after the header dictionary") }
        guard let descr, let fortranOrder, let shape else {
            let missing = [("descr", descr == nil), ("fortran_order", fortranOrder == nil), ("shape", shape == nil)]
                .filter(\.1).map(\.0).joined(separator: ", ")
            throw error("the header dictionary lacks \(missing)", at: start)
        }
        return NPYHeader(descr: descr.0, fortranOrder: fortranOrder, shape: shape.0,
                         descrOffset: descr.1, shapeOffset: shape.1)
    }

    /// A Python string literal without escapes (NumPy never writes any in these keys).
    private mutating func parseString() throws -> String {
        let start = index
        guard let quote = current, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw error("expected a quoted string, found \(describeCurrent())")
        }
        index += 1
        while let byte = current, byte != quote {
            guard byte >= 0x20, byte != UInt8(ascii: "\\") else {
                throw error("unsupported character in a string (escapes and control characters are not allowed)")
            }
            index += 1
        }
        guard current == quote else { throw error("unterminated string", at: start) }
        index += 1
        return String(decoding: bytes[(start + 1)..<(index - 1)], as: UTF8.self)
    }

    private mutating func parseBool() throws -> Bool {
        let start = index
        while let byte = current, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) { index += 1 }
        switch String(decoding: bytes[start..<index], as: UTF8.self) {
        case "True": return true
        case "False": return false
        default:
            index = start
            throw error("fortran_order must be True or False, found \(describeCurrent())")
        }
    }

    /// A tuple of non-negative integers: `()`, `(3,)`, `(3, 4)` or `(3, 4,)`.
    private mutating func parseShape() throws -> [Int] {
        let start = index
        guard current == UInt8(ascii: "(") else {
            throw FormatError.invalidShape(
                format: .npy, offset: index, tensor: nil, reason: "expected a tuple such as (3, 4), found \(describeCurrent())")
        }
        index += 1
        var extents: [Int] = []
        var trailingComma = false
        while true {
            skipWhitespace()
            if current == UInt8(ascii: ")") { index += 1; break }
            extents.append(try parseExtent())
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
                trailingComma = true
            } else if current == UInt8(ascii: ")") {
                index += 1
                trailingComma = false
                break
            } else {
                throw error("expected ',' or ')' in the shape tuple, found \(describeCurrent())")
            }
        }
        // In Python `(3)` is the integer 3, not a tuple; NumPy rejects it.
        if extents.count == 1, !trailingComma {
            throw FormatError.invalidShape(
                format: .npy, offset: start, tensor: nil, reason: "a one-axis shape needs a trailing comma, e.g. (3,)")
        }
        return extents
    }

    private mutating func parseExtent() throws -> Int {
        let start = index
        if current == UInt8(ascii: "-") {
            throw FormatError.invalidShape(format: .npy, offset: start, tensor: nil, reason: "negative extent")
        }
        var value = 0
        var digits = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                throw FormatError.invalidShape(format: .npy, offset: start, tensor: nil,
                                               reason: "extent does not fit in \(Int.bitWidth) bits")
            }
            value = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else {
            throw FormatError.invalidShape(format: .npy, offset: start, tensor: nil,
                                           reason: "expected an integer extent, found \(describeCurrent())")
        }
        // Python 2 era files mark long integers with an `L` suffix.
        if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { index += 1 }
        return value
    }
}
