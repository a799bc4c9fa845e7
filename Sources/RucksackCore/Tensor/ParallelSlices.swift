import Dispatch

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
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        body(part, (count * part / parts)..<(count * (part + 1) / parts))
    }
}
