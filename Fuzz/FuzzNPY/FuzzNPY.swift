import FuzzDriver
import RucksackCore

/// libFuzzer entry: `.npy` files. Any input must decode or throw; one that decodes must encode
/// and decode back to the same array.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let array = try? NPY.decode(bytes) else { return 0 }
    guard (try? NPY.decode(NPY.encode(array))) == array else { fatalError(".npy round trip changed the array") }
    return 0
}

/// The entry SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("FuzzNPY_main")
func fuzzNPYMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzNPY)
}
