/// Read-outs shared by KFAC, KFLR and KFRA: Kronecker factors `[B, A]` of a weight, `[B]` of a
/// bias, from the parameter's outer-product structure (BackPACK spec §3.7).
///
/// Weight sharing over positions (convolution output positions, the extra axes of `Linear`)
/// follows BackPACK's convolution rule for every layer: the output factor `B` comes from the
/// factor summed over positions, and the input factor is `A = (1/N) Σₙ Σₚ xₙₚ xₙₚᵀ` (summed over
/// positions, averaged over samples). Without weight sharing this is plain KFAC. A grouped
/// convolution gets one block `[B_g, A_g]` per group.
extension ParameterContext {
    /// KFAC and KFLR: `B = Σᵥ Σₙ s̃ᵥₙ s̃ᵥₙᵀ` from the propagated factor `S: [V, N, *out]`, with `s̃`
    /// the position-summed left factor. A parameter of a layer without outer-product structure
    /// (batch normalization) gets its exact (or sampled) GGN block as its one factor.
    func kroneckerFactors(outputFactor factor: Tensor<Scalar>) throws -> KroneckerFactors<Scalar> {
        guard let layer = visit.layer as? any OuterProductStructure<Scalar> else {
            let gradients = try columnGradients(factor)
            let flat = try gradients.reshaped([gradients.shape[0] * gradients.shape[1], -1])
            guard flat.shape[1] == (try visit.layer.parameter(parameter).shape.first) else { throw noOuterProductStructure }
            return KroneckerFactors(blocks: [[try flat.gram()]])
        }
        let flat = try layer.positionSummedLeft(factor.flattened(from: 0, to: 1), parameter: parameter, io: visit.io)  // [V·N, G·A]
        return try assemble(outputFactor: flat.gram(), layer: layer)
    }

    /// KFRA: `B` from the batch-averaged matrix `Q: [D_out, D_out]` at the layer output, summed
    /// over both position axes.
    func kroneckerFactors(batchAveraged q: Tensor<Scalar>) throws -> KroneckerFactors<Scalar> {
        guard let layer = visit.layer as? any OuterProductStructure<Scalar> else { throw noOuterProductStructure }
        let outSample = Array(visit.io.output.shape.dropFirst())
        func reduceRows(_ m: Tensor<Scalar>) throws -> Tensor<Scalar> {  // [R, *out] → [R, G·A]
            try layer.positionSummedLeft(m.reshaped([m.shape[0]] + outSample), parameter: parameter, io: visit.io)
        }
        let reduced = try reduceRows(reduceRows(q).transposed())  // [G·A, G·A], symmetric
        return try assemble(outputFactor: reduced, layer: layer)
    }

    private var noOuterProductStructure: LayerError {
        .productUnavailable(layer: visit.layer.typeName, product: "Kronecker factors of \(parameter)",
                            reason: "the layer's parameter gradients have no outer-product structure")
    }

    /// `[[B]]` for a bias; for a weight, one block `[B_gg, A_g]` per group.
    private func assemble(outputFactor b: Tensor<Scalar>, layer: any OuterProductStructure<Scalar>) throws -> KroneckerFactors<Scalar> {
        guard try visit.layer.parameter(parameter).rank > 1 else { return KroneckerFactors(blocks: [[b]]) }
        let right = try layer.outerProductRight(parameter: parameter, io: visit.io, subsampling: nil)  // [N, G, P, in]
        let groups = right.shape[1], a = b.shape[0] / Swift.max(groups, 1)
        // One group: the Gram matrix of the rows (n, p), half the work of a general product.
        let perSample = 1 / Scalar(Swift.max(batchSize, 1))
        let input = groups == 1 ? try right.reshaped([-1, right.shape[3]]).gram(scaledBy: perSample).unsqueezed(at: 0)
                                : try Einsum.evaluate("ngpa,ngpb->gab", right, right) * perSample
        return KroneckerFactors(blocks: try (0..<groups).map { g in
            let range = (g * a)..<((g + 1) * a)
            return [try b.sliced(axis: 0, range: range).sliced(axis: 1, range: range),
                    try input.sliced(axis: 0, range: g..<(g + 1)).squeezed(at: 0)]
        })
    }
}
