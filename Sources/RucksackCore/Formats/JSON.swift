/// A JSON value with the byte offset where it starts: what Rucksack reads from safetensors
/// headers and model files.
///
/// Rucksack parses JSON itself instead of using `JSONDecoder` or `JSONSerialization` so that
/// every error can name a byte offset, integers are read exactly (no detour through `Double`),
/// and duplicate keys are seen rather than silently merged: objects keep their members in file
/// order, duplicates included, and each reader decides what a duplicate means.
public struct JSONValue: Sendable, CustomStringConvertible {
    /// One `"key": value` pair of an object, in file order.
    public struct Member: Sendable {
        public var key: String
        public var keyOffset: Int
        public var value: JSONValue
    }

    public enum Kind: Sendable {
        case object([Member])
        case array([JSONValue])
        case string(String)
        /// The number's text, as written; see ``integer`` and ``number``.
        case number(String)
        case bool(Bool)
        case null
    }

    public var kind: Kind
    /// Offset of the value's first byte in the file.
    public var offset: Int

    /// A short name of the value's type for error messages.
    public var typeName: String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// The value as written, shortened for error messages: objects by their type name.
    public var description: String {
        switch kind {
        case let .number(text): text
        case let .string(text): "\"\(text)\""
        case let .bool(flag): "\(flag)"
        case .null: "null"
        case let .array(items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .object: "an object"
        }
    }

    /// The value as an `Int` if it is a JSON integer that fits, written without fraction or
    /// exponent (`1.0` and `1e2` are not integers, `true` is not 1); `nil` otherwise.
    public var integer: Int? {
        guard case let .number(text) = kind else { return nil }
        let negative = text.hasPrefix("-")
        var value = 0
        for byte in text.utf8.dropFirst(negative ? 1 : 0) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// Whether the value is written as an integer (no fraction, no exponent), whether or not it fits.
    public var isIntegerText: Bool {
        guard case let .number(text) = kind else { return false }
        return text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }

    /// The value as an `Int` if it is an ``integer`` in `0...Int.max`.
    public var nonNegativeInteger: Int? {
        integer.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The value of any JSON number, rounded to the nearest `Double`.
    public var number: Double? {
        guard case let .number(text) = kind else { return nil }
        return Double(text)
    }

    /// The members of an object, in file order.
    public var members: [Member]? {
        guard case let .object(members) = kind else { return nil }
        return members
    }

    /// The first member of an object whose key appears again, with that second occurrence.
    public var firstDuplicateKey: (first: Member, again: Member)? {
        guard let members else { return nil }
        var seen: [String: Member] = [:]
        for member in members {
            if let first = seen[member.key] { return (first, member) }
            seen[member.key] = member
        }
        return nil
    }
}

/// Malformed JSON: where, and what is wrong.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The byte offset of the problem in the file.
    public var offset: Int
    public var reason: String

    public var description: String { "\(reason) at byte offset \(offset)" }
}

/// A strict RFC 8259 JSON parser over a slice of a file's bytes.
///
/// The slice keeps the file's indices, so `index` is always an absolute file offset.
public struct JSONParser {
    private let bytes: ArraySlice<UInt8>
    private var index: Int
    private let maximumDepth: Int

    /// Parses `bytes` as one JSON value surrounded by optional whitespace. `maximumDepth` bounds
    /// the nesting of arrays and objects, so that recursion stays bounded on hostile input;
    /// `document` names the text in the UTF-8 error ("the header").
    public static func parse(_ bytes: ArraySlice<UInt8>, maximumDepth: Int, document: String) throws(JSONSyntaxError) -> JSONValue {
        if let bad = firstInvalidUTF8(bytes) {
            throw JSONSyntaxError(offset: bad, reason: "\(document) is not valid UTF-8")
        }
        var parser = JSONParser(bytes: bytes, index: bytes.startIndex, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.endIndex else {
            throw parser.error("unexpected \(parser.describeCurrent()) after the JSON value")
        }
        return value
    }

    private func error(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? index, reason: "invalid JSON: " + reason)
    }

    private func describeCurrent() -> String {
        guard index < bytes.endIndex else { return "the end of the text" }
        let byte = bytes[index]
        if byte >= 0x21, byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    private mutating func skipWhitespace() {
        while index < bytes.endIndex {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < maximumDepth else { throw error("nested deeper than \(maximumDepth) levels") }
        guard index < bytes.endIndex else { throw error("expected a value, found the end of the text") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"): return JSONValue(kind: .object(try parseObject(depth: depth)), offset: start)
        case UInt8(ascii: "["): return JSONValue(kind: .array(try parseArray(depth: depth)), offset: start)
        case UInt8(ascii: "\""): return JSONValue(kind: .string(try parseString()), offset: start)
        case UInt8(ascii: "t"): try expectLiteral("true"); return JSONValue(kind: .bool(true), offset: start)
        case UInt8(ascii: "f"): try expectLiteral("false"); return JSONValue(kind: .bool(false), offset: start)
        case UInt8(ascii: "n"): try expectLiteral("null"); return JSONValue(kind: .null, offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONValue(kind: .number(try parseNumber()), offset: start)
        default:
            throw error("expected a value, found \(describeCurrent())")
        }
    }

    private mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
        let start = index
        for expected in literal.utf8 {
            guard index < bytes.endIndex, bytes[index] == expected else {
                throw error("invalid literal, expected \(literal)", at: start)
            }
            index += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> [JSONValue.Member] {
        index += 1  // "{"
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipWhitespace()
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a string key, found \(describeCurrent())")
            }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after key, found \(describeCurrent())")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append(JSONValue.Member(key: key, keyOffset: keyOffset, value: value))
            skipWhitespace()
            guard index < bytes.endIndex else { throw error("unterminated object, expected '}'") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return members
            } else {
                throw error("expected ',' or '}' in object, found \(describeCurrent())")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> [JSONValue] {
        index += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.endIndex else { throw error("unterminated array, expected ']'") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return elements
            } else {
                throw error("expected ',' or ']' in array, found \(describeCurrent())")
            }
        }
    }

    /// Parses a string starting at the opening quote. The header's UTF-8 was validated up front.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.endIndex else { throw error("unterminated string", at: start) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw error("control character 0x\(String(byte, radix: 16)) in a string must be escaped")
            default:
                utf8.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
        let start = index
        index += 1  // backslash
        guard index < bytes.endIndex else { throw error("unterminated escape sequence", at: start) }
        let simple: UInt8?
        switch bytes[index] {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw error("invalid escape sequence", at: start)
        }
        if let simple {
            utf8.append(simple)
            index += 1
            return
        }
        index += 1  // "u"
        var code = try parseHex4(escapeStart: start)
        if (0xD800...0xDBFF).contains(code) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard index + 1 < bytes.endIndex, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("unpaired UTF-16 surrogate in \\u escape", at: start) }
            index += 2
            let low = try parseHex4(escapeStart: start)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw error("unpaired UTF-16 surrogate in \\u escape", at: start)
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(code) {
            throw error("unpaired UTF-16 surrogate in \\u escape", at: start)
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape", at: start) }
        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONSyntaxError) -> UInt32 {
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.endIndex else { throw error("truncated \\u escape", at: escapeStart) }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }

    /// Parses a number per the JSON grammar and returns its text.
    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = index
        func isDigit(_ index: Int) -> Bool {
            index < bytes.endIndex && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw error("invalid number", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw error("numbers must not have leading zeros", at: start) }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw error("invalid number: expected a digit after '.'", at: start) }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(index) else { throw error("invalid number: expected a digit in the exponent", at: start) }
            while isDigit(index) { index += 1 }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// The offset of the first byte that breaks UTF-8 well-formedness, or `nil` if there is none.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            default: return index
            }
            for position in 1..<max(length, 1) {
                let next = index + position
                guard next < bytes.endIndex else { return index }
                let range = position == 1 ? secondRange : 0x80...0xBF
                guard range.contains(bytes[next]) else { return index }
            }
            index += length
        }
        return nil
    }
}

extension JSONValue {
    /// A JSON string literal, escaped as serde_json escapes it.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
