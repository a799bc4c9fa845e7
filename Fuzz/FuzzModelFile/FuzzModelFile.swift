import Foundation
import FuzzDriver
import Rucksack

/// libFuzzer entry: model files. Any input must load or throw; a model that loads must also
/// run on a small input or throw, all within a 64 MB memory limit.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzModelFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    MemoryBudget.$limit.withValue(64 << 20) {
        guard let model: Model<Float> = try? ModelFile.decode(bytes) else { return }
        _ = try? model.state()
        if let input = try? Tensor<Float>(repeating: 0.5, shape: [2, 3, 8, 8]) { _ = try? model(input) }
    }
    return 0
}

/// The entry SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("FuzzModelFile_main")
func fuzzModelFileMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzModelFile)
}
