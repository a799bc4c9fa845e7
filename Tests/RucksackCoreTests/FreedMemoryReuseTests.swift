#if canImport(Glibc)
import Glibc
import RucksackCore
import Testing

@Suite("freed memory reuse")
struct FreedMemoryReuseTests {
    /// Minor page faults of the calling thread so far.
    private func threadMinorFaults() -> Int {
        var usage = rusage()
        getrusage(1, &usage)  // RUSAGE_THREAD, which Swift's Glibc module does not export
        return usage.ru_minflt
    }

    // 48 MiB: above the 32 MiB up to which glibc by itself learns to keep freed blocks, and below
    // the 64 MiB heaps it serves threads other than the main one from (this test runs on one).
    @Test("a 48 MiB tensor made and freed again touches no fresh pages after the first time")
    func reusesFreedPages() throws {
        #expect(FreedMemoryReuse.enable())
        let shape = [12, 1024, 1024]
        var last: [Float] = []
        let before = threadMinorFaults()
        for round in 0..<9 {
            let tensor = try Tensor<Float>(repeating: Float(round), shape: shape)
            last.append(tensor.scalars[tensor.count - 1])
        }
        let faults = threadMinorFaults() - before
        #expect(last == (0..<9).map(Float.init))
        // Without reuse each round faults in all 12 288 pages; the first round may.
        #expect(faults < 12_288 * 2, "\(faults) minor page faults in 9 rounds")
    }
}
#endif
