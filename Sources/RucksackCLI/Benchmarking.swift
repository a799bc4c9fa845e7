import Foundation
import Rucksack

enum Benchmark {
    /// The middle value, or the mean of the two middle ones; 0 for none.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// Median and spread of repeated measurements of a rate (higher is better).
struct RateSummary {
    var median: Double
    var spread: Double  // (max − min) / median

    init(rates: [Double]) {
        median = Benchmark.median(rates)
        spread = median > 0 ? (rates.max()! - rates.min()!) / median : 0
    }

    var formatted: String { String(format: "%.2f ±%.2f%%", median, spread * 100) }
}

/// Times `body` once for warm-up and then `repetitions` times; returns `work / seconds` per run.
func measureRates(repetitions: Int, work: Double, _ body: () throws -> Void) rethrows -> RateSummary {
    try body()
    var rates: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<max(1, repetitions) {
        let elapsed = try clock.measure(body)
        rates.append(work / max(elapsed.seconds, 1e-12))
    }
    return RateSummary(rates: rates)
}

/// One GEMM shape in one precision on one backend: through `Tensor.matmul`, and through the
/// backend's own routine called directly on preallocated buffers.
struct GEMMBenchmark<Scalar: TensorScalar> {
    var shape: (m: Int, k: Int, n: Int)
    var backend: MatrixBackend
    var repetitions: Int

    func run() throws -> (matmul: RateSummary, direct: RateSummary) {
        var data = RandomStream(seed: 1)
        let a: Tensor<Scalar> = try data.uniform(shape: [shape.m, shape.k])
        let b: Tensor<Scalar> = try data.uniform(shape: [shape.k, shape.n])
        let gflop = 2 * Double(shape.m) * Double(shape.n) * Double(shape.k) / 1e9
        let matmul = try measureRates(repetitions: repetitions, work: gflop) {
            _ = try a.matmul(b, backend: backend)
        }
        var c = [Scalar](repeating: 0, count: shape.m * shape.n)
        let direct = DirectGEMM<Scalar>(backend: backend)
        let product = GEMMShape(m: shape.m, n: shape.n, k: shape.k)
        let directRate = a.scalars.withUnsafeBufferPointer { a in
            b.scalars.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    measureRates(repetitions: repetitions, work: gflop) {
                        direct.call(product, a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    }
                }
            }
        }
        return (matmul, directRate)
    }
}

/// The routine a backend ends in, called with no Rucksack code in between: the library's own
/// `cblas_?gemm`, or the built-in C kernel.
struct DirectGEMM<Scalar: TensorScalar> {
    let backend: MatrixBackend

    func call(_ s: GEMMShape, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, _ c: UnsafeMutablePointer<Scalar>) {
        guard let routines = backend.cblasRoutines else {
            try? Scalar.gemm(on: backend, s, alpha: 1, a, b, beta: 0, c)
            return
        }
        let (m, n, k) = (Int32(s.m), Int32(s.n), Int32(s.k))
        if let a = a as? UnsafePointer<Float>, let b = b as? UnsafePointer<Float>, let c = c as? UnsafeMutablePointer<Float> {
            routines.sgemm(101, 111, 111, m, n, k, 1, a, Int32(s.lda), b, Int32(s.ldb), 0, c, Int32(s.ldc))
        } else if let a = a as? UnsafePointer<Double>, let b = b as? UnsafePointer<Double>,
                  let c = c as? UnsafeMutablePointer<Double> {
            routines.dgemm(101, 111, 111, m, n, k, 1, a, Int32(s.lda), b, Int32(s.ldb), 0, c, Int32(s.ldc))
        }
    }
}

/// im2col throughput of a typical convolution layer input, in GB/s of columns written.
struct UnfoldBenchmark {
    var repetitions: Int

    func report() throws {
        var data = RandomStream(seed: 2)
        print("\nim2col (unfold)                          GB/s written")
        // The first case fits in cache; the larger ones also pay for fresh pages of the result.
        let cases: [(String, [Int], ConvolutionGeometry)] = [
            ("Conv2d 3×3 pad 1, [8,16,16,16]", [8, 16, 16, 16], try ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1])),
            ("Conv2d 3×3 pad 1, [32,64,32,32]", [32, 64, 32, 32], try ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1])),
            ("Conv2d 5×5 stride 2, [32,32,28,28]", [32, 32, 28, 28], try ConvolutionGeometry(kernelSize: [5, 5], stride: [2, 2])),
            ("Conv1d 3 dil 2, [32,64,256]", [32, 64, 256], try ConvolutionGeometry(kernelSize: [3], dilation: [2])),
        ]
        for (label, shape, geometry) in cases {
            for precision in [(name: "f32", bytes: 4), (name: "f64", bytes: 8)] {
                let summary: RateSummary
                if precision.bytes == 4 {
                    let x: Tensor<Float> = try data.normal(shape: shape)
                    let bytes = Double(try x.unfolded(geometry).count * 4) / 1e9
                    summary = try measureRates(repetitions: repetitions, work: bytes) { _ = try x.unfolded(geometry) }
                } else {
                    let x: Tensor<Double> = try data.normal(shape: shape)
                    let bytes = Double(try x.unfolded(geometry).count * 8) / 1e9
                    summary = try measureRates(repetitions: repetitions, work: bytes) { _ = try x.unfolded(geometry) }
                }
                print(pad(label, 36) + pad(precision.name, 6) + summary.formatted)
            }
        }
    }
}
