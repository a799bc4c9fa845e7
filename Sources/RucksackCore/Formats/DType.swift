/// Element types of arrays in safetensors and `.npy` files.
///
/// Raw values are the safetensors spellings.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case int32 = "I32"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32, .int32: 4
        case .float64, .int64: 8
        case .uint8, .bool: 1
        }
    }

    /// The safetensors spelling, e.g. `F32`.
    public var description: String { rawValue }
}
