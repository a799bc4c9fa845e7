#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rucksack

/// Tells the user once, on stderr, which matrix backend this run uses (and why, if a request
/// in `RUCKSACK_BLAS` could not be honoured).
func announceMatrixBackend() {
    let selection = MatrixBackend.selection
    var text = "rucksack: matrix products on \(selection.backend.name)\n"
    if let note = selection.note { text += "rucksack: \(note)\n" }
    writeToStandardError(text)
}

/// Writes `text` to file descriptor 2 (the C `stderr` global is not concurrency-safe in Swift 6).
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
