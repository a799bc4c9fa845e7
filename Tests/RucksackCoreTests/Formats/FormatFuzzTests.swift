import Foundation
import Testing
@testable import RucksackCore

/// Feeds corrupted fixtures to the decoders: each variant must either decode to consistent
/// arrays or throw a ``FormatError`` — never crash, hang or allocate more than the input size.
@Suite("format decoders under fuzzing")
struct FormatFuzzTests {
    static let mutationsPerFixture = 4_000

    @Test("truncated and mutated fixtures decode or throw FormatError", arguments: FormatFixtures.allNames)
    func fuzzFixture(name: String) throws {
        let original = try FormatFixtures.bytes(name)
        let isSafeTensors = name.hasSuffix(".safetensors")
        // Seed from the name's bytes: `hashValue` differs between runs.
        let seed = name.utf8.reduce(UInt64(0x5EED)) { $0 &* 31 &+ UInt64($1) }
        var random = RandomStream(seed: seed)
        var outcomes = Outcomes()

        for length in 0..<original.count {
            outcomes.record(Self.check(Array(original[..<length]), isSafeTensors: isSafeTensors))
        }
        for _ in 0..<Self.mutationsPerFixture {
            let variant = Self.mutate(original, isSafeTensors: isSafeTensors, using: &random)
            outcomes.record(Self.check(variant, isSafeTensors: isSafeTensors))
        }
        #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected.prefix(5))")
        #expect(outcomes.rejected > 0)
    }

    @Test("random noise, with and without a valid prefix, is rejected or consistent")
    func noise() {
        var random = RandomStream(seed: 42)
        var outcomes = Outcomes()
        let npyPrefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        for round in 0..<2_000 {
            let count = Int.random(in: 0...96, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            switch round % 4 {
            case 0: bytes = npyPrefix + bytes
            case 1:
                // A plausible safetensors header size followed by noise.
                var sized: [UInt8] = []
                LittleEndianBytes.appendUnsigned(UInt64(count / 2), width: 8, to: &sized)
                bytes = sized + [UInt8(ascii: "{")] + bytes
            default: break
            }
            outcomes.record(Self.check(bytes, isSafeTensors: round % 2 == 1))
        }
        #expect(outcomes.unexpected.isEmpty, "\(outcomes.unexpected.prefix(5))")
    }

    // MARK: Helpers

    private struct Outcomes {
        var decoded = 0
        var rejected = 0
        var unexpected: [String] = []

        mutating func record(_ outcome: Result<Void, CheckFailure>?) {
            switch outcome {
            case .none: rejected += 1
            case .success: decoded += 1
            case let .failure(failure): unexpected.append(failure.message)
            }
        }
    }

    private struct CheckFailure: Error {
        var message: String
    }

    /// `nil` when the decoder threw a `FormatError`, success when it decoded consistent arrays.
    private static func check(_ bytes: [UInt8], isSafeTensors: Bool) -> Result<Void, CheckFailure>? {
        do {
            let arrays = isSafeTensors ? Array(try SafeTensors.decode(bytes).tensors.values) : [try NPY.decode(bytes)]
            var total = 0
            for array in arrays {
                guard let count = ArrayData.elementCount(of: array.shape, elementSize: array.dtype.byteCount),
                      count * array.dtype.byteCount == array.bytes.count
                else {
                    return .failure(CheckFailure(message: "inconsistent array \(array.dtype) \(array.shape)"))
                }
                total += array.bytes.count
            }
            guard total <= bytes.count else {
                return .failure(CheckFailure(message: "decoded \(total) bytes from a \(bytes.count)-byte input"))
            }
            return .success(())
        } catch is FormatError {
            return nil
        } catch {
            return .failure(CheckFailure(message: "non-FormatError \(error)"))
        }
    }

    /// One random corruption: bit flips, byte replacements, insertions, deletions, or a
    /// rewritten length field.
    private static func mutate(
        _ original: [UInt8], isSafeTensors: Bool, using random: inout RandomStream
    ) -> [UInt8] {
        var bytes = original
        // Half of the edits hit the first 128 bytes, where the headers live.
        func position() -> Int {
            let limit = Bool.random(using: &random) ? min(bytes.count, 128) : bytes.count
            return Int.random(in: 0..<max(limit, 1), using: &random)
        }
        let interesting: [UInt8] = Array("0123456789-.e,[]{}():\"' \n".utf8) + [0x00, 0x7F, 0x80, 0xFF]
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            let index = position()
            bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
        case 1:
            bytes[position()] = UInt8.random(in: 0...255, using: &random)
        case 2:
            bytes[position()] = interesting.randomElement(using: &random) ?? 0
        case 3:
            for _ in 0..<Int.random(in: 2...6, using: &random) {
                let index = position()
                bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
            }
        case 4:
            bytes.insert(interesting.randomElement(using: &random) ?? 0, at: Int.random(in: 0...bytes.count, using: &random))
        case 5:
            bytes.remove(at: position())
        case 6:
            // Rewrite the length field: safetensors' 8-byte size or .npy's 2- or 4-byte header length.
            let (start, width) = isSafeTensors ? (0, 8) : (8, original[6] == 1 ? 2 : 4)
            let choices: [UInt64] = [
                0, 1, UInt64(bytes.count), UInt64(bytes.count - start - width), UInt64(Int.max), .max, 1 << 60,
                LittleEndianBytes.readUnsigned(bytes, at: start, width: width) &+ UInt64.random(in: 0...16, using: &random) &- 8,
            ]
            var value = choices.randomElement(using: &random) ?? 0
            if width < 8 { value &= (1 << UInt64(8 * width)) - 1 }
            for offset in 0..<width { bytes[start + offset] = UInt8(truncatingIfNeeded: value >> UInt64(8 * offset)) }
        default:
            // Replace one digit of the header by another, targeting shapes and offsets.
            let digits = bytes.indices.prefix(min(bytes.count, 512)).filter {
                bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") && $0 >= 8
            }
            if let index = digits.randomElement(using: &random) {
                bytes[index] = UInt8.random(in: UInt8(ascii: "0")...UInt8(ascii: "9"), using: &random)
            }
        }
        return bytes
    }
}
