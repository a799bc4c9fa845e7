import FuzzDriver
import RucksackCore

/// libFuzzer entry: safetensors files. Any input must decode or throw; one that decodes must
/// encode and decode back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensors.decode(bytes) else { return 0 }
    guard (try? SafeTensors.decode(SafeTensors.encode(file))) == file else { fatalError("safetensors round trip changed the file") }
    return 0
}

/// The entry SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("FuzzSafeTensors_main")
func fuzzSafeTensorsMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzSafeTensors)
}
