import CRucksackKernels

/// How many threads work on `elements` elements split into `units` independent pieces: one per
/// quarter million elements (below that, waking a thread costs more than it saves), at most
/// `threads` and at most one per unit.
func threadsFor(elements: Int, units: Int, threads: Int) -> Int {
    Swift.min(threads, units, Swift.max(1, elements >> 18))
}

/// Runs `body(part, slice)` on `parts` consecutive, near-equal slices of `0 ..< count`, each on a
/// thread of its own when there are several; the slices' writes must be disjoint.
func forEachSlice(of count: Int, parts: Int, _ body: @Sendable (_ part: Int, _ slice: Range<Int>) -> Void) {
    guard parts > 1 else { return body(0, 0..<count) }
    parallelFor(parts) { part in
        body(part, (count * part / parts)..<(count * (part + 1) / parts))
    }
}

/// Runs `body(i)` for every `i` in `0 ..< count`, on the calling thread and on up to
/// `threads - 1` (all of `count` by default) threads of Rucksack's pool, and returns when all are
/// done. The pool's threads look for the next job for a quarter of a millisecond before they
/// sleep, as OpenMP's do: Dispatch's sleep at once, and waking them cost tens of microseconds per
/// parallel region on a virtual machine. A call made while another is running runs on its own
/// thread.
func parallelFor(_ count: Int, threads: Int? = nil, _ body: @Sendable (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        withUnsafePointer(to: body) { pointer in
            rk_parallel_for(count, Int32(clamping: threads ?? count), { context, index in
                context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(index)
            }, UnsafeMutableRawPointer(mutating: pointer))
        }
    }
}
