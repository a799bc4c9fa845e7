import FuzzDriver
import RucksackCore

/// libFuzzer entry: IDX files, gzipped or not, as the MNIST loader reads them, within a 64 MB
/// memory limit (which also caps the decompressed size).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzGzipIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    MemoryBudget.$limit.withValue(64 << 20) {
        guard let plain = Gzip.isGzip(bytes) ? try? Gzip.decompress(bytes) : bytes else { return }
        _ = try? IDX.decode(plain).uint8Values()
    }
    return 0
}

/// The entry SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("FuzzGzipIDX_main")
func fuzzGzipIDXMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzGzipIDX)
}
