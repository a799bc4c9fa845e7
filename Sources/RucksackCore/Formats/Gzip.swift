/// Decompresses gzip files (RFC 1952) holding DEFLATE data (RFC 1951), in pure Swift.
///
/// Every member of a multi-member file is decoded and the outputs are concatenated, as
/// `gunzip` does; zero bytes after the last member are ignored (some tools pad with them),
/// anything else there is an error. Each member's CRC-32 and length (ISIZE) are checked,
/// and so is the header CRC-16 when the `FHCRC` flag is set.
///
/// Errors are ``FormatError`` values that name the byte offset, in the compressed input,
/// where the problem was found. Malformed input never traps; the output is capped at
/// ``maxOutputSize`` so that a small corrupt or hostile file cannot exhaust memory.
public enum Gzip {
    /// The most bytes ``decompress(_:)`` produces before giving up (2 GiB).
    public static let maxOutputSize = 1 << 31

    /// Whether `bytes` starts with the gzip magic number `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed contents of all members of the gzip data `bytes`.
    /// - Throws: ``FormatError``: `badMagic` when `bytes` is not gzip, `truncated` when it
    ///   ends early, `invalidHeader` for a bad member header and `corruptCompressedData`
    ///   for undecodable DEFLATE data, a checksum or size mismatch, or output over
    ///   ``maxOutputSize``.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        try decompress(bytes, limit: maxOutputSize)
    }

    /// ``decompress(_:)`` with an output cap of `limit` bytes (tests use small caps).
    static func decompress(_ bytes: [UInt8], limit: Int) throws -> [UInt8] {
        guard isGzip(bytes) else {
            // Like the other readers: a prefix of the magic number is a truncated file.
            if bytes.count < 2, bytes.elementsEqual([0x1F].prefix(bytes.count)) {
                throw FormatError.truncated(
                    format: .gzip, section: "member header", offset: 0, needed: 10, available: bytes.count)
            }
            throw FormatError.badMagic(format: .gzip, found: Array(bytes.prefix(8)))
        }
        return try bytes.withUnsafeBufferPointer { input in
            var output = OutputBuffer(limit: limit, initialCapacity: initialCapacity(for: input, limit: limit))
            defer { output.deallocate() }
            var offset = 0
            repeat {
                offset = try decodeMember(input, at: offset, into: &output)
                // Padding zeros may follow the last member; a new member starts with the magic.
                guard let next = input[offset...].firstIndex(where: { $0 != 0 }) else { break }
                guard next + 1 < input.count, input[next] == 0x1F, input[next + 1] == 0x8B else {
                    throw FormatError.invalidHeader(
                        format: .gzip, offset: next,
                        reason: "bytes after the end of a gzip member do not start another member (expected 1f 8b)")
                }
                offset = next
            } while true
            return output.array()
        }
    }

    /// A capacity guess: the last member's ISIZE, which is the whole size for the usual
    /// single-member file, if it is plausible for DEFLATE's at most ~1032:1 ratio.
    private static func initialCapacity(for input: UnsafeBufferPointer<UInt8>, limit: Int) -> Int {
        let count = input.count
        let fallback = min(limit, max(1 << 16, count * 4))
        guard count >= 18 else { return fallback }
        let size = Int(littleEndianUInt32(input, at: count - 4))
        guard size <= limit, size <= count &* 1032 else { return fallback }
        return size
    }

    // MARK: - Member

    private static let flagText: UInt8 = 1 << 0
    private static let flagHeaderCRC: UInt8 = 1 << 1
    private static let flagExtra: UInt8 = 1 << 2
    private static let flagName: UInt8 = 1 << 3
    private static let flagComment: UInt8 = 1 << 4
    private static let reservedFlags: UInt8 = 0xE0

    /// Decodes the member starting at `start` and returns the offset just after its trailer.
    private static func decodeMember(
        _ input: UnsafeBufferPointer<UInt8>, at start: Int, into output: inout OutputBuffer
    ) throws -> Int {
        let count = input.count
        func need(_ size: Int, at offset: Int, _ section: String) throws {
            guard count - offset >= size else {
                throw FormatError.truncated(
                    format: .gzip, section: section, offset: offset, needed: UInt64(size), available: count - offset)
            }
        }
        try need(10, at: start, "member header")
        guard input[start] == 0x1F, input[start + 1] == 0x8B else {
            // Only reachable for later members; `decompress` checked the first.
            throw FormatError.badMagic(format: .gzip, found: Array(input[start..<min(count, start + 8)]))
        }
        guard input[start + 2] == 8 else {
            throw FormatError.invalidHeader(
                format: .gzip, offset: start + 2,
                reason: "compression method \(input[start + 2]), expected 8 (deflate)")
        }
        let flags = input[start + 3]
        guard flags & reservedFlags == 0 else {
            throw FormatError.invalidHeader(
                format: .gzip, offset: start + 3,
                reason: "reserved flag bits are set (flags 0x\(String(flags, radix: 16)))")
        }
        // MTIME, XFL and OS carry nothing a decoder needs; FTEXT is only a hint.
        var offset = start + 10
        if flags & flagExtra != 0 {
            try need(2, at: offset, "extra field length")
            let length = Int(input[offset]) | Int(input[offset + 1]) << 8
            offset += 2
            try need(length, at: offset, "extra field")
            offset += length
        }
        for (flag, section) in [(flagName, "file name"), (flagComment, "comment")] where flags & flag != 0 {
            guard let end = input[offset...].firstIndex(of: 0) else {
                // At least the terminating zero is missing.
                throw FormatError.truncated(
                    format: .gzip, section: "zero-terminated \(section)", offset: offset,
                    needed: UInt64(count - offset + 1), available: count - offset)
            }
            offset = end + 1
        }
        if flags & flagHeaderCRC != 0 {
            try need(2, at: offset, "header CRC-16")
            let stored = UInt32(input[offset]) | UInt32(input[offset + 1]) << 8
            let actual = CRC32.update(0, UnsafeBufferPointer(rebasing: input[start..<offset])) & 0xFFFF
            guard stored == actual else {
                throw FormatError.corruptCompressedData(
                    format: .gzip, offset: offset,
                    reason: "header CRC-16 mismatch: stored 0x\(String(stored, radix: 16)), "
                        + "computed 0x\(String(actual, radix: 16))")
            }
            offset += 2
        }

        let outputStart = output.count
        var inflater = Inflater(input: input, position: offset)
        offset = try inflater.run(into: &output)

        try need(8, at: offset, "member trailer (CRC-32 and size)")
        let storedCRC = littleEndianUInt32(input, at: offset)
        let storedSize = littleEndianUInt32(input, at: offset + 4)
        let produced = UnsafeBufferPointer(start: output.base + outputStart, count: output.count - outputStart)
        let actualCRC = CRC32.checksum(produced)
        guard storedCRC == actualCRC else {
            throw FormatError.corruptCompressedData(
                format: .gzip, offset: offset,
                reason: "CRC-32 mismatch: stored 0x\(String(storedCRC, radix: 16)), "
                    + "computed 0x\(String(actualCRC, radix: 16)) over the \(produced.count) decompressed bytes")
        }
        // ISIZE is the size modulo 2^32.
        guard storedSize == UInt32(truncatingIfNeeded: produced.count) else {
            throw FormatError.corruptCompressedData(
                format: .gzip, offset: offset + 4,
                reason: "size mismatch: the trailer says \(storedSize) bytes (mod 2^32), "
                    + "the data decompressed to \(produced.count)")
        }
        return offset + 8
    }

    private static func littleEndianUInt32(_ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(input[offset]) | UInt32(input[offset + 1]) << 8 | UInt32(input[offset + 2]) << 16
            | UInt32(input[offset + 3]) << 24
    }
}

// MARK: - Output

/// A growable byte buffer with slack past `count`, so that the inflate loop can write a whole
/// match (and over-write up to 8 bytes past it) after a single capacity check.
private struct OutputBuffer {
    /// Room that `ensure` keeps beyond the requested size: a longest match plus an 8-byte word.
    static let slack = 258 + 16

    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0
    let limit: Int

    init(limit: Int, initialCapacity: Int) {
        self.limit = limit
        capacity = min(initialCapacity, limit) + Self.slack
        base = .allocate(capacity: capacity)
    }

    /// Makes room for `extra` more bytes plus the slack.
    /// - Returns: false when that would exceed `limit`. The capacity never exceeds
    ///   `limit + slack`, so the early return also implies `count + extra <= limit`.
    mutating func ensure(_ extra: Int) -> Bool {
        guard count + extra + Self.slack > capacity else { return true }
        guard count + extra <= limit else { return false }
        let newCapacity = min(max(capacity * 2, count + extra), limit) + Self.slack
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
        return true
    }

    func array() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let destination = buffer.baseAddress { destination.initialize(from: base, count: count) }
            initialized = count
        }
    }

    func deallocate() { base.deallocate() }
}

// MARK: - Huffman tables

/// A canonical Huffman code: a lookup table on the next `tableBits` input bits for short
/// codes, and the canonical counts and symbols for decoding longer codes bit by bit.
///
/// Table entries, and the `info` that `symbolInfo` gives each symbol, pack:
/// bits 0–3 the code length (0 in the table: longer code or no code, use the slow path),
/// bits 4–7 the number of extra bits, bits 8–9 the kind, bits 16–31 the value
/// (a literal byte, a length or distance base).
private struct HuffmanCode {
    static let kindLiteral: UInt32 = 0
    static let kindLength: UInt32 = 1
    static let kindEnd: UInt32 = 2
    static let kindInvalid: UInt32 = 3
    /// A distance; shares the value 0 with literals as the two never mix.
    static let kindDistance: UInt32 = 0

    let tableBits: Int
    var table: [UInt32]
    /// Number of codes of each length 0...15.
    var counts = [Int](repeating: 0, count: 16)
    /// Symbols sorted by code length, then value: the canonical order.
    var sorted: [UInt16] = []
    let symbolInfo: [UInt32]
    /// Whether there are no codes at all (allowed only for distances).
    var isEmpty = false

    enum BuildError: Error, CustomStringConvertible {
        case overSubscribed, incomplete
        var description: String { self == .overSubscribed ? "over-subscribed" : "incomplete" }
    }

    /// Builds the code for the given code lengths (0: symbol unused).
    /// `allowSingleOrEmpty` accepts the distance-code exceptions of RFC 1951 section 3.2.7:
    /// no codes, or a single code of length 1.
    init(lengths: ArraySlice<UInt8>, symbolInfo: [UInt32], tableBits: Int, allowSingleOrEmpty: Bool) throws {
        self.tableBits = tableBits
        self.symbolInfo = symbolInfo
        table = [UInt32](repeating: 0, count: 1 << tableBits)
        for length in lengths { counts[Int(length)] += 1 }
        var left = 1
        for length in 1...15 {
            left = left << 1 - counts[length]
            guard left >= 0 else { throw BuildError.overSubscribed }
        }
        let used = lengths.count - counts[0]
        if left > 0 {
            let allowed = allowSingleOrEmpty && (used == 0 || (used == 1 && counts[1] == 1))
            guard allowed else { throw BuildError.incomplete }
            isEmpty = used == 0
        }
        // Canonical codes: the first code of each length, then consecutive values.
        var next = [Int](repeating: 0, count: 16)
        var start = [Int](repeating: 0, count: 16)
        // counts[0] counts unused symbols, so length 1 starts from 0 on its own.
        for length in 2...15 {
            next[length] = (next[length - 1] + counts[length - 1]) << 1
            start[length] = start[length - 1] + counts[length - 1]
        }
        sorted = [UInt16](repeating: 0, count: used)
        var fill = start
        for (index, length) in lengths.enumerated() where length > 0 {
            let length = Int(length)
            let symbol = index
            sorted[fill[length]] = UInt16(symbol)
            fill[length] += 1
            let value = next[length]
            next[length] += 1
            guard length <= tableBits else { continue }
            // Codes are packed starting with their most significant bit, and the input is read
            // least significant bit first, so the table index is the code reversed.
            var reversed = 0
            for bit in 0..<length where value & (1 << (length - 1 - bit)) != 0 { reversed |= 1 << bit }
            let entry = symbolInfo[symbol] | UInt32(length)
            var slot = reversed
            while slot < table.count {
                table[slot] = entry
                slot += 1 << length
            }
        }
    }
}

/// The per-symbol info of the literal/length alphabet (RFC 1951 section 3.2.5).
private let literalLengthInfo: [UInt32] = {
    var info = [UInt32](repeating: 0, count: 288)
    for byte in 0..<256 { info[byte] = UInt32(byte) << 16 | HuffmanCode.kindLiteral << 8 }
    info[256] = HuffmanCode.kindEnd << 8
    var base = 3
    for symbol in 257...285 {
        let extra = symbol < 265 || symbol == 285 ? 0 : (symbol - 261) / 4
        let value = symbol == 285 ? 258 : base
        info[symbol] = UInt32(value) << 16 | UInt32(extra) << 4 | HuffmanCode.kindLength << 8
        base += 1 << extra
    }
    info[286] = HuffmanCode.kindInvalid << 8
    info[287] = HuffmanCode.kindInvalid << 8
    return info
}()

/// The per-symbol info of the distance alphabet (RFC 1951 section 3.2.5).
private let distanceInfo: [UInt32] = {
    var info = [UInt32](repeating: 0, count: 32)
    var base = 1
    for symbol in 0..<30 {
        let extra = symbol < 4 ? 0 : symbol / 2 - 1
        info[symbol] = UInt32(base) << 16 | UInt32(extra) << 4 | HuffmanCode.kindDistance << 8
        base += 1 << extra
    }
    info[30] = HuffmanCode.kindInvalid << 8
    info[31] = HuffmanCode.kindInvalid << 8
    return info
}()

private let literalTableBits = 10
private let distanceTableBits = 8

/// The fixed codes of block type 1, built once.
private let fixedCodes: (literal: HuffmanCode, distance: HuffmanCode) = {
    var lengths = [UInt8](repeating: 8, count: 288)
    for symbol in 144..<256 { lengths[symbol] = 9 }
    for symbol in 256..<280 { lengths[symbol] = 7 }
    // These lengths form complete codes, so building cannot fail.
    let literal = try? HuffmanCode(
        lengths: lengths[...], symbolInfo: literalLengthInfo, tableBits: literalTableBits, allowSingleOrEmpty: false)
    let distance = try? HuffmanCode(
        lengths: [UInt8](repeating: 5, count: 32)[...], symbolInfo: distanceInfo, tableBits: distanceTableBits,
        allowSingleOrEmpty: false)
    guard let literal, let distance else { preconditionFailure("the fixed Huffman codes are complete") }
    return (literal, distance)
}()

/// The order in which a dynamic block lists the code-length code's lengths.
private let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

// MARK: - Inflate

/// Decodes one DEFLATE stream. Bits are read least significant first through a 64-bit
/// buffer; past the end of the input the buffer fills with zero bits (at most
/// `overrunLimit` bytes' worth), and whether real bits ran out is checked at the end, so
/// that the hot loop needs no per-bit bounds checks.
private struct Inflater {
    let input: UnsafeBufferPointer<UInt8>
    /// Next input byte to load into `bits`; may run past `input.count` by the zero padding.
    var position: Int
    var bits: UInt64 = 0
    var bitCount = 0

    static let overrunLimit = 16

    init(input: UnsafeBufferPointer<UInt8>, position: Int) {
        self.input = input
        self.position = position
    }

    /// Bits consumed so far, counted from the start of the input.
    var consumedBits: Int { position * 8 - bitCount }
    var pastEnd: Bool { consumedBits > input.count * 8 }

    func truncated() -> FormatError {
        .truncated(format: .gzip, section: "deflate data", offset: input.count, needed: 1, available: 0)
    }

    /// An error at bit position `bit`. Once padding bits are in the buffer, fewer than the
    /// trailer's 8 bytes remain, so the file is truncated whatever the bits say.
    func corrupt(_ reason: String, at bit: Int? = nil) -> FormatError {
        if position > input.count { return truncated() }
        let offset = min((bit ?? consumedBits) / 8, input.count)
        return .corruptCompressedData(format: .gzip, offset: offset, reason: reason)
    }

    /// Tops the buffer up to at least 56 bits.
    @inline(__always)
    mutating func refill() throws {
        if position + 8 <= input.count, let base = input.baseAddress {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            bits |= word &<< UInt64(bitCount)
            position += (63 - bitCount) >> 3
            bitCount |= 56
            return
        }
        try refillSlowly()
    }

    mutating func refillSlowly() throws {
        while bitCount <= 56 {
            if position < input.count {
                bits |= UInt64(input[position]) &<< UInt64(bitCount)
            } else if position >= input.count + Self.overrunLimit {
                throw truncated()
            }
            position += 1
            bitCount += 8
        }
    }

    /// Takes `count` (≤ 56) bits.
    mutating func take(_ count: Int) throws -> Int {
        if bitCount < count { try refill() }
        let value = Int(bits & ((1 &<< UInt64(count)) - 1))
        bits &>>= UInt64(count)
        bitCount -= count
        return value
    }

    /// Decodes a code longer than the table covers, or reports an unused code.
    /// Needs at least 15 bits in the buffer.
    func decodeSlowly(_ code: HuffmanCode) -> UInt32? {
        var value = 0
        var first = 0
        var index = 0
        for length in 1...15 {
            value |= Int((bits &>> UInt64(length - 1)) & 1)
            let count = code.counts[length]
            if value - first < count {
                let symbol = Int(code.sorted[index + value - first])
                return code.symbolInfo[symbol] | UInt32(length)
            }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        return nil
    }

    /// Inflates the stream into `output`; returns the offset of the byte after its last block.
    mutating func run(into output: inout OutputBuffer) throws -> Int {
        let outputStart = output.count
        var final = false
        while !final {
            let blockStart = consumedBits
            final = try take(1) == 1
            switch try take(2) {
            case 0:
                try copyStoredBlock(into: &output)
            case 1:
                try inflateBlock(fixedCodes.literal, fixedCodes.distance, into: &output, outputStart: outputStart)
            case 2:
                let (literal, distance) = try readDynamicCodes()
                try inflateBlock(literal, distance, into: &output, outputStart: outputStart)
            default:
                throw corrupt("invalid block type 3", at: blockStart)
            }
        }
        guard !pastEnd else { throw truncated() }
        // The member trailer starts at the next byte boundary.
        return (consumedBits + 7) / 8
    }

    mutating func copyStoredBlock(into output: inout OutputBuffer) throws {
        // Drop the bits up to the byte boundary, then read LEN and NLEN straight from the input.
        guard !pastEnd else { throw truncated() }
        let start = (consumedBits + 7) / 8
        bits = 0
        bitCount = 0
        guard input.count - start >= 4 else {
            throw FormatError.truncated(
                format: .gzip, section: "stored block length", offset: start, needed: 4, available: input.count - start)
        }
        let length = Int(input[start]) | Int(input[start + 1]) << 8
        let complement = Int(input[start + 2]) | Int(input[start + 3]) << 8
        guard length ^ complement == 0xFFFF else {
            throw FormatError.corruptCompressedData(
                format: .gzip, offset: start,
                reason: "stored block length \(length) does not match its complement \(complement)")
        }
        let dataStart = start + 4
        guard input.count - dataStart >= length else {
            throw FormatError.truncated(
                format: .gzip, section: "stored block", offset: dataStart, needed: UInt64(length),
                available: input.count - dataStart)
        }
        guard output.ensure(length) else { throw outputTooLarge(output, at: dataStart) }
        if length > 0, let source = input.baseAddress {
            (output.base + output.count).initialize(from: source + dataStart, count: length)
        }
        output.count += length
        position = dataStart + length
    }

    func outputTooLarge(_ output: OutputBuffer, at offset: Int) -> FormatError {
        .corruptCompressedData(
            format: .gzip, offset: offset,
            reason: "the decompressed data exceeds the limit of \(output.limit) bytes")
    }

    mutating func readDynamicCodes() throws -> (HuffmanCode, HuffmanCode) {
        let headerStart = consumedBits
        let literalCount = try take(5) + 257
        let distanceCount = try take(5) + 1
        let codeLengthCount = try take(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw corrupt(
                "dynamic block declares \(literalCount) literal/length and \(distanceCount) distance codes "
                    + "(at most 286 and 30)", at: headerStart)
        }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for index in 0..<codeLengthCount {
            codeLengthLengths[codeLengthOrder[index]] = UInt8(try take(3))
        }
        // Code-length symbols carry no extra info; only their number matters.
        let codeLengthInfo = (0..<19).map { UInt32($0) << 16 }
        let codeLengthCode: HuffmanCode
        do {
            codeLengthCode = try HuffmanCode(
                lengths: codeLengthLengths[...], symbolInfo: codeLengthInfo, tableBits: 7, allowSingleOrEmpty: false)
        } catch {
            throw corrupt("dynamic block has an \(error) code-length Huffman code", at: headerStart)
        }

        let total = literalCount + distanceCount
        var lengths = [UInt8](repeating: 0, count: total)
        var index = 0
        while index < total {
            if bitCount < 15 { try refill() }
            let symbolStart = consumedBits
            let entry = codeLengthCode.table[Int(bits & 0x7F)]
            let length = Int(entry & 0xF)
            // All code-length codes fit in the 7-bit table; 0 marks an unused code.
            guard length > 0 else { throw corrupt("invalid code-length code", at: symbolStart) }
            bits &>>= UInt64(length)
            bitCount -= length
            let symbol = Int(entry >> 16)
            if symbol < 16 {
                lengths[index] = UInt8(symbol)
                index += 1
                continue
            }
            let repeated: UInt8
            let times: Int
            switch symbol {
            case 16:
                guard index > 0 else { throw corrupt("code length repeat with no previous length", at: symbolStart) }
                repeated = lengths[index - 1]
                times = 3 + (try take(2))
            case 17:
                repeated = 0
                times = 3 + (try take(3))
            default:
                repeated = 0
                times = 11 + (try take(7))
            }
            guard index + times <= total else {
                throw corrupt("code length repeat runs past the \(total) declared lengths", at: symbolStart)
            }
            for _ in 0..<times {
                lengths[index] = repeated
                index += 1
            }
        }
        guard lengths[256] != 0 else { throw corrupt("dynamic block has no end-of-block code", at: headerStart) }
        do {
            let literal = try HuffmanCode(
                lengths: lengths[..<literalCount], symbolInfo: literalLengthInfo, tableBits: literalTableBits,
                allowSingleOrEmpty: false)
            do {
                let distance = try HuffmanCode(
                    lengths: lengths[literalCount...], symbolInfo: distanceInfo, tableBits: distanceTableBits,
                    allowSingleOrEmpty: true)
                return (literal, distance)
            } catch {
                throw corrupt("dynamic block has an \(error) distance Huffman code", at: headerStart)
            }
        } catch let error as HuffmanCode.BuildError {
            throw corrupt("dynamic block has an \(error) literal/length Huffman code", at: headerStart)
        }
    }

    /// Decodes the symbols of one compressed block. This is the hot loop.
    mutating func inflateBlock(
        _ literal: HuffmanCode, _ distance: HuffmanCode, into output: inout OutputBuffer, outputStart: Int
    ) throws {
        try literal.table.withUnsafeBufferPointer { literalTable in
            try distance.table.withUnsafeBufferPointer { distanceTable in
                let literalMask = UInt64(literalTable.count - 1)
                let distanceMask = UInt64(distanceTable.count - 1)
                while true {
                    // 56 bits cover the longest symbol: 15 + 5 length extra + 15 + 13 distance extra.
                    if bitCount < 48 { try refill() }
                    let symbolStart = consumedBits
                    var entry = literalTable[Int(bits & literalMask)]
                    if entry & 0xF == 0 {
                        guard let slow = decodeSlowly(literal) else {
                            throw corrupt("invalid literal/length code", at: symbolStart)
                        }
                        entry = slow
                    }
                    let codeLength = entry & 0xF
                    bits &>>= UInt64(codeLength)
                    bitCount -= Int(codeLength)
                    let kind = (entry >> 8) & 3
                    if kind == HuffmanCode.kindLiteral {
                        guard output.ensure(1) else { throw outputTooLarge(output, at: symbolStart / 8) }
                        output.base[output.count] = UInt8(truncatingIfNeeded: entry >> 16)
                        output.count += 1
                        continue
                    }
                    if kind == HuffmanCode.kindEnd { return }
                    guard kind == HuffmanCode.kindLength else {
                        throw corrupt("invalid literal/length symbol (286 or 287)", at: symbolStart)
                    }
                    let lengthExtra = (entry >> 4) & 0xF
                    let length = Int(entry >> 16) + Int(bits & ((1 &<< UInt64(lengthExtra)) - 1))
                    bits &>>= UInt64(lengthExtra)
                    bitCount -= Int(lengthExtra)

                    let distanceStart = consumedBits
                    var distanceEntry = distanceTable[Int(bits & distanceMask)]
                    if distanceEntry & 0xF == 0 {
                        guard !distance.isEmpty, let slow = decodeSlowly(distance) else {
                            throw corrupt("invalid distance code", at: distanceStart)
                        }
                        distanceEntry = slow
                    }
                    guard (distanceEntry >> 8) & 3 != HuffmanCode.kindInvalid else {
                        throw corrupt("invalid distance symbol (30 or 31)", at: distanceStart)
                    }
                    let distanceLength = distanceEntry & 0xF
                    bits &>>= UInt64(distanceLength)
                    bitCount -= Int(distanceLength)
                    let distanceExtra = (distanceEntry >> 4) & 0xF
                    let back = Int(distanceEntry >> 16) + Int(bits & ((1 &<< UInt64(distanceExtra)) - 1))
                    bits &>>= UInt64(distanceExtra)
                    bitCount -= Int(distanceExtra)

                    guard back <= output.count - outputStart else {
                        throw corrupt(
                            "distance \(back) reaches before the start of the output "
                                + "(\(output.count - outputStart) bytes so far)", at: distanceStart)
                    }
                    guard output.ensure(length) else { throw outputTooLarge(output, at: symbolStart / 8) }
                    copyMatch(output.base + output.count, distance: back, length: length)
                    output.count += length
                }
            }
        }
    }

    /// Copies `length` bytes from `distance` bytes back to `destination`; the ranges overlap
    /// when `distance < length`, which repeats the last `distance` bytes. May write up to 7
    /// bytes past the end, which the output slack allows.
    @inline(__always)
    func copyMatch(_ destination: UnsafeMutablePointer<UInt8>, distance: Int, length: Int) {
        let source = destination - distance
        if distance >= 8 {
            // Each 8-byte word is read before anything it overlaps is written.
            var done = 0
            while done < length {
                let word = UnsafeRawPointer(source + done).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(destination + done).storeBytes(of: word, as: UInt64.self)
                done += 8
            }
        } else if distance == 1 {
            destination.update(repeating: source.pointee, count: length)
        } else {
            for index in 0..<length { destination[index] = source[index] }
        }
    }
}

// MARK: - CRC-32

/// The CRC-32 of gzip and zlib (reflected polynomial 0xEDB88320), computed with the
/// slicing-by-8 table method: eight 256-entry tables consume eight bytes per step.
enum CRC32 {
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            tables[byte] = crc
        }
        // Table k advances a byte through k further zero bytes.
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The CRC-32 of `bytes`.
    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 { update(0, bytes) }

    /// The CRC-32 of the data hashed into `crc` followed by `bytes`.
    static func update(_ crc: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return tables.withUnsafeBufferPointer { table in
            var crc = ~crc
            var index = 0
            let count = bytes.count
            while count - index >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(base[index])) & 0xFF)]
                index += 1
            }
            return ~crc
        }
    }

    /// The CRC-32 of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0) }
    }
}
