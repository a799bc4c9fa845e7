import ArgumentParser
import Foundation
import Rucksack

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Removes a half-written output's temporary file on SIGINT and SIGTERM, then lets the signal
/// end the process as it would have.
func removeTemporaryOutputOnSignals() {
    AtomicFile.prepareSignalCleanup()
    var unblock = sigset_t()
    sigemptyset(&unblock)
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber) { received in
            AtomicFile.removePendingTemporaryFile()
            signal(received, SIG_DFL)
            raise(received)
        }
        sigaddset(&unblock, signalNumber)
    }
    // A parent may have blocked them (some process launchers do); they must reach the handler.
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
}

/// Refuses an output path that names a directory or one of the inputs, so that writing it can
/// never destroy what was read.
func checkOutput(_ output: String, inputs: [(option: String, path: String)]) throws {
    guard !output.hasSuffix("/") else {
        throw ValidationError("--output '\(output)' ends in '/', which names a directory: give the file to write")
    }
    var target = stat()
    guard stat(output, &target) == 0 else { return }  // a new file cannot be an input
    guard target.st_mode & S_IFMT != S_IFDIR else {
        throw ValidationError("--output '\(output)' is a directory: give the file to write")
    }
    for input in inputs {
        var source = stat()
        if stat(input.path, &source) == 0, source.st_dev == target.st_dev, source.st_ino == target.st_ino {
            throw ValidationError("--output '\(output)' is the same file as \(input.option) '\(input.path)': it would be overwritten")
        }
    }
}

/// For tests of the signal handling: `RUCKSACK_TEST_PAUSE_BEFORE_RENAME=<seconds>` holds the
/// finished temporary file that long before it replaces the output.
func pauseBeforeRenameForTests() {
    guard let text = ProcessInfo.processInfo.environment["RUCKSACK_TEST_PAUSE_BEFORE_RENAME"], let seconds = Double(text) else { return }
    Thread.sleep(forTimeInterval: seconds)
}

/// A byte count on the command line: `1000000`, `512M`, `24G` (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = argument.uppercased()
        var factor = 1
        if let last = digits.last, let unit = units[last] {
            factor = unit
            digits.removeLast()
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (total, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        bytes = total
    }
}
