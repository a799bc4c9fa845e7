extension Tensor {
    /// For every plane (`N·C`) and output position of max pooling with `geometry`, the flat
    /// index into `self` (`[N, C, *spatial]`) of the window's maximum, or `-1` for a window that
    /// covers only padding. The first maximum in kernel order wins ties and NaN counts as the
    /// maximum, as in PyTorch. One pass over the windows, without forming the columns.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func windowMaximumIndices(_ geometry: ConvolutionGeometry) throws -> [Int] {
        let plan = try UnfoldPlan(geometry, inputShape: shape, operation: "window maximum")
        let taps = plan.kernel.reduce(1, *), positions = plan.output.reduce(1, *)
        var winners = [Int](repeating: -1, count: plan.planes * positions)
        scalars.withUnsafeBufferPointer { x in
            winners.withUnsafeMutableBufferPointer { best in
                // Pairs come plane by plane, tap by tap, so the first strict maximum is kept.
                plan.forEachPair { column, source in
                    let plane = column / (taps * positions), slot = plane * positions + column % positions
                    let current = best[slot]
                    let candidate = x[source]
                    if current < 0 || (!x[current].isNaN && (candidate.isNaN || candidate > x[current])) {
                        best[slot] = source
                    }
                }
            }
        }
        return winners
    }
}
