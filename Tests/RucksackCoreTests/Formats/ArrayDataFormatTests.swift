import Foundation
import Testing
@testable import RucksackCore

@Suite("ArrayData for file formats")
struct ArrayDataFormatTests {
    @Test("bytes are little-endian and row-major")
    func layout() throws {
        #expect(try ArrayData([Int32(1), -2], shape: [2]).bytes == [1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF])
        #expect(try ArrayData([Int64(258)], shape: []).bytes == [2, 1, 0, 0, 0, 0, 0, 0])
        #expect(try ArrayData([true, false], shape: [2]).bytes == [1, 0])
        #expect(ArrayData(try Tensor<Float>(shape: [1], scalars: [1])).bytes == [0, 0, 0x80, 0x3F])
        #expect(ArrayData(Tensor<Double>(-2)).bytes == [0, 0, 0, 0, 0, 0, 0, 0xC0])
    }

    @Test("initializers check the element count and shape")
    func countMismatch() {
        #expect(throws: FormatError.invalidArray(
            operation: "ArrayData([Int64], shape:)", dtype: .int64, shape: [2, 2], reason: "needs 4 elements, got 3")) {
            try ArrayData([Int64(1), 2, 3], shape: [2, 2])
        }
        #expect(throws: FormatError.self) { try ArrayData([Int32(1)], shape: [-1]) }
        #expect(throws: FormatError.self) { try ArrayData([UInt8](), shape: [Int.max, 2]) }
        #expect(throws: FormatError.self) { try ArrayData([Bool](), shape: [1]) }
        #expect(throws: FormatError.self) { try ArrayData(dtype: .float64, shape: [1], bytes: [0, 0, 0, 0]) }
        #expect(throws: FormatError.self) { try ArrayData(dtype: .float32, shape: [Int.max / 2], bytes: []) }
    }

    @Test("float arrays convert to either tensor precision")
    func tensorConversion() throws {
        let single = ArrayData(try Tensor<Float>(shape: [3], scalars: [1.5, -0.25, 3]))
        #expect(try single.tensor(as: Double.self).scalars == [1.5, -0.25, 3])
        let third = ArrayData(Tensor<Double>(1.0 / 3))
        #expect(try third.tensor(as: Float.self).scalars == [Float(1.0 / 3)])
        #expect(try third.tensor() as Tensor<Double> == Tensor<Double>(1.0 / 3))
    }

    @Test("integer and boolean arrays refuse to become tensors, naming their dtype")
    func tensorMismatch() throws {
        let indices = try ArrayData([Int64(1)], shape: [1])
        #expect(throws: FormatError.dtypeMismatch(
            operation: "ArrayData.tensor(as: Float.self)", dtype: .int64, accepted: [.float32, .float64])) {
            try indices.tensor(as: Float.self)
        }
        do {
            _ = try indices.tensor(as: Double.self)
        } catch {
            #expect("\(error)".contains("dtype I64"))
        }
    }

    @Test("integer accessors widen and check dtypes")
    func integerAccessors() throws {
        #expect(try ArrayData([Int32.min, 5], shape: [2]).int64Values() == [Int64(Int32.min), 5])
        #expect(try ArrayData([UInt8(255)], shape: [1]).int64Values() == [255])
        #expect(try ArrayData([UInt8(255)], shape: [1]).uint8Values() == [255])
        #expect(try ArrayData(dtype: .bool, shape: [3], bytes: [0, 1, 2]).boolValues() == [false, true, true])
        #expect(throws: FormatError.self) { try ArrayData([true], shape: [1]).int64Values() }
        #expect(throws: FormatError.self) { try ArrayData([UInt8(1)], shape: [1]).boolValues() }
        #expect(throws: FormatError.self) { try ArrayData([Int64(1)], shape: [1]).uint8Values() }
        #expect(throws: FormatError.self) { try ArrayData(Tensor<Float>(1)).int64Values() }
    }
}
