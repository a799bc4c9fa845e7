import CRucksackKernels
import Dispatch
import Foundation
import Testing

/// The thread pool behind every parallel product and element-wise pass (`rk_parallel_for`).
@Suite("parallel for")
struct ParallelForTests {
    /// Runs the pool on `count` iterations with `threads` threads; each iteration adds one to its
    /// own counter, so an index run twice or never shows.
    private func counts(_ count: Int, threads: Int32) -> [Int] {
        var hits = [Int](repeating: 0, count: count)
        hits.withUnsafeMutableBufferPointer { buffer in
            rk_parallel_for(count, threads, { context, index in
                context!.assumingMemoryBound(to: Int.self)[index] += 1
            }, buffer.baseAddress)
        }
        return hits
    }

    @Test("every index runs exactly once", arguments: [0, 1, 2, 3, 7, 100, 4099], [Int32(1), 2, 3, 8])
    func everyIndexOnce(count: Int, threads: Int32) {
        #expect(counts(count, threads: threads) == [Int](repeating: 1, count: count))
    }

    @Test("back-to-back jobs, and jobs after the helpers went to sleep, each run every index once")
    func repeatedJobs() {
        for round in 0..<5000 where counts(3, threads: 2) != [1, 1, 1] {
            Issue.record("round \(round) ran an index twice or never")
            return
        }
        for _ in 0..<3 {
            usleep(5_000)  // longer than the helpers spin
            #expect(counts(64, threads: 4) == [Int](repeating: 1, count: 64))
        }
    }

    @Test("returns only after the last iteration finished, wherever it ran")
    func waitsForSlowIterations() {
        var finished = [Int](repeating: 0, count: 8)
        finished.withUnsafeMutableBufferPointer { buffer in
            rk_parallel_for(8, 2, { context, index in
                usleep(2_000)
                context!.assumingMemoryBound(to: Int.self)[index] = 1
            }, buffer.baseAddress)
        }
        #expect(finished == [Int](repeating: 1, count: 8))
    }

    @Test("a body may run a parallel loop itself")
    func nested() {
        var totals = [Int](repeating: 0, count: 4)
        totals.withUnsafeMutableBufferPointer { buffer in
            rk_parallel_for(4, 2, { context, outer in
                var inner = [Int](repeating: 0, count: 10)
                inner.withUnsafeMutableBufferPointer { innerBuffer in
                    rk_parallel_for(10, 2, { context, index in
                        context!.assumingMemoryBound(to: Int.self)[index] = index
                    }, innerBuffer.baseAddress)
                }
                context!.assumingMemoryBound(to: Int.self)[outer] = inner.reduce(0, +)
            }, buffer.baseAddress)
        }
        #expect(totals == [45, 45, 45, 45])
    }

    @Test("calls from several threads at once each complete")
    func concurrentCallers() {
        let results = (0..<6).map { _ in UnsafeMutableBufferPointer<Int>.allocate(capacity: 1000) }
        defer { results.forEach { $0.deallocate() } }
        let addresses = results.map { UInt(bitPattern: $0.baseAddress) }
        DispatchQueue.concurrentPerform(iterations: results.count) { caller in
            for _ in 0..<50 {
                rk_parallel_for(1000, 2, { context, index in
                    context!.assumingMemoryBound(to: Int.self)[index] = index * 2
                }, UnsafeMutableRawPointer(bitPattern: addresses[caller]))
            }
        }
        for result in results { #expect(Array(result) == (0..<1000).map { $0 * 2 }) }
    }
}
