import Foundation
import Rucksack
import RucksackExamples
import Testing

// The two tutorials' listings, as written in the DocC articles (a test below checks that they
// are), run on the MNIST digits that ship with Rucksack.

/// Trains logistic regression for one epoch with CGNewton on the HBP curvature and with SGD
/// from the same initial weights on the same batches; returns each model's mean training loss
/// over the epoch and its test accuracy.
func compareNewtonAndSGD(mnist directory: URL) throws -> (newton: (loss: Float, accuracy: Float), sgd: (loss: Float, accuracy: Float)) {
    let train = try MNIST.load(.train, from: directory)
    let test = try MNIST.load(.test, from: directory)
    var stream = RandomStream(seed: 0)
    let batches = try train.shuffledBatches(size: 500, using: &stream)
    let loss = CrossEntropyLoss<Float>()

    var start = Model<Float>(sequential: [Flatten(), try Linear(inFeatures: 784, outFeatures: 10)])
    try start.initializeParameters(seed: 0)

    // Newton steps on the batch-averaged GGN blocks that HBP propagates.
    var newtonModel = start
    let newton = try CGNewton(
        curvature: HBP<Float>(curvature: .ggn), learningRate: 0.1, alpha: 0.02,
        relativeTolerance: 0.1, absoluteTolerance: 0, maxIterations: 50)
    var newtonLoss: Float = 0
    for batch in batches {
        let results = try newtonModel.compute([newton.curvature], input: batch.images, target: batch.targets, loss: loss)
        try newton.step(&newtonModel, results: results)
        newtonLoss += results.loss / Float(batches.count)
    }

    // SGD with momentum from the same start.
    var sgdModel = start
    var sgd = try SGD<Float>(learningRate: 0.1, momentum: 0.9)
    var sgdLoss: Float = 0
    for batch in batches {
        let (value, gradients) = try sgdModel.gradient(batch.images, batch.targets, loss: loss)
        try sgd.step(&sgdModel, gradients: gradients)
        sgdLoss += value / Float(batches.count)
    }
    return ((newtonLoss, try newtonModel.accuracy(on: test)), (sgdLoss, try sgdModel.accuracy(on: test)))
}

/// The HBP paper's c4d3 for 28×28 gray images and 10 classes, with PyTorch's default initialisation.
func c4d3(seed: UInt64) throws -> Model<Float> {
    func conv(_ input: Int, _ output: Int) throws -> Convolution<Float> {
        try Convolution(inChannels: input, outChannels: output, geometry: ConvolutionGeometry(kernelSize: [3, 3], padding: [1, 1]))
    }
    let pool = try MaxPool<Float>(PoolingWindow(kernelSize: [2, 2]))
    var model = Model<Float>(sequential: [
        try conv(1, 16), Sigmoid(), try conv(16, 16), Sigmoid(), pool,
        try conv(16, 32), Sigmoid(), try conv(32, 32), Sigmoid(), pool,
        Flatten(), try Linear(inFeatures: 32 * 7 * 7, outFeatures: 512), Sigmoid(),
        try Linear(inFeatures: 512, outFeatures: 64), Sigmoid(), try Linear(inFeatures: 64, outFeatures: 10),
    ])
    try model.initializeParameters(seed: seed)
    return model
}

/// Trains c4d3 on the first `trainingImages` images of Fashion-MNIST in `directory` for one
/// epoch of CGNewton steps on the exact PCH-abs blocks; returns the training loss of every step.
func trainC4D3(fashionMNIST directory: URL, trainingImages: Int, batchSize: Int) throws -> [Float] {
    let train = try MNIST.load(.train, from: directory, limit: trainingImages, normalization: MNIST.fashionNormalization)
    var model = try c4d3(seed: 0)
    let newton = try CGNewton(
        curvature: PCHMP<Float>(modification: .abs), learningRate: 0.2, alpha: 1e-3,
        relativeTolerance: 0.1, absoluteTolerance: 0, maxIterations: 20)
    var stream = RandomStream(seed: 0)
    var losses: [Float] = []
    for batch in try train.shuffledBatches(size: batchSize, using: &stream) {
        let results = try model.compute([newton.curvature], input: batch.images, target: batch.targets, loss: CrossEntropyLoss())
        try newton.step(&model, results: results)
        losses.append(results.loss)
    }
    return losses
}

/// The package folder, from this file's path.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct TutorialTests {
    @Test(arguments: ["TutorialHBPSingleLayer", "TutorialHBPSequential"])
    func theArticlesListingIsTheCodeThatRunsHere(article: String) throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Sources/Rucksack/Rucksack.docc/\(article).md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let listings = text.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(listings.count == 1)
        for listing in listings {
            let code = listing.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("import ") }.joined(separator: "\n")
            #expect(source.contains(code.trimmingCharacters(in: .newlines)), "the listing of \(article) differs from the code in this file")
        }
    }

    @Test func newtonStepsOnHBPCurvatureTrainLogisticRegression() throws {
        let (newton, sgd) = try compareNewtonAndSGD(mnist: DemoSetup.shippedMNISTSubset())
        print("tutorial 1: CGNewton loss \(newton.loss) accuracy \(newton.accuracy); SGD loss \(sgd.loss) accuracy \(sgd.accuracy)")
        // What the article states: both near 85 %, the Newton steps' mean loss higher (early overshooting).
        #expect(abs(newton.accuracy - 0.85) < 0.02 && abs(sgd.accuracy - 0.85) < 0.02)
        #expect(newton.loss > 2 * sgd.loss)
    }

    @Test func newtonStepsOnExactPCHBlocksTrainTheSigmoidCNN() throws {
        let losses = try trainC4D3(fashionMNIST: DemoSetup.shippedMNISTSubset(), trainingImages: 200, batchSize: 100)
        print("tutorial 2: losses \(losses)")
        #expect(losses.count == 2 && losses.allSatisfy(\.isFinite))
    }
}
