import Foundation
import Rucksack
@testable import RucksackExperiments
import Testing

@Suite struct ModelZooTests {
    /// Parameter counts the HBP spec states for CIFAR-10 (§6.2–6.4).
    @Test(arguments: [(ZooModel.fcnn, 3_846_810), (.c4d3, 1_099_226), (.threeC3DSigmoid, 895_210), (.threeC3D, 895_210)])
    func cifar10NetworksHaveThePapersSize(model: ZooModel, parameters: Int) throws {
        let network = try model.model(imageShape: [3, 32, 32], classes: 10, seed: 0)
        #expect(try network.parameterNames.map { try network.parameter($0).count }.reduce(0, +) == parameters)
    }

    @Test(arguments: ZooModel.allCases)
    func everyNetworkRunsOnBothImageShapesAndWritesItsModelFile(model: ZooModel) throws {
        for (shape, classes) in [([1, 28, 28], 10), ([3, 32, 32], 100)] {
            let network = try model.model(imageShape: shape, classes: classes, seed: 1)
            #expect(try network(Tensor(zeros: [2] + shape)).shape == [2, classes])
            let reread: Model<Float> = try ModelFile.decode(Data(model.modelFile(imageShape: shape, classes: classes).utf8))
            #expect(reread.parameterNames == network.parameterNames)
        }
    }

    @Test func initialisationIsSeededAndFollowsTheSource() throws {
        let first = try ZooModel.twoC2D.model(imageShape: [1, 28, 28], classes: 10, seed: 3)
        let again = try ZooModel.twoC2D.model(imageShape: [1, 28, 28], classes: 10, seed: 3)
        let other = try ZooModel.twoC2D.model(imageShape: [1, 28, 28], classes: 10, seed: 4)
        #expect(try first.parameter("0.weight").scalars == again.parameter("0.weight").scalars)
        #expect(try first.parameter("0.weight").scalars != other.parameter("0.weight").scalars)
        // DeepOBS' 2c2d: a normal of deviation 0.05 truncated at two deviations, biases 0.05.
        #expect(try first.parameter("0.weight").scalars.allSatisfy { abs($0) <= 0.1 })
        #expect(try first.parameter("0.bias").scalars.allSatisfy { $0 == 0.05 })
        #expect(try ZooModel.logreg.model(imageShape: [1, 28, 28], classes: 10, seed: 3).parameter("1.weight").scalars.allSatisfy { $0 == 0 })
        // Xavier normal: deviation √(2 / (fan_in + fan_out)) = √(2 / 1296) for the FCNN's first layer.
        let weight = try ZooModel.fcnn.model(imageShape: [1, 28, 28], classes: 10, seed: 0).parameter("1.weight").scalars.map(Double.init)
        let deviation = (weight.map { $0 * $0 }.reduce(0, +) / Double(weight.count)).squareRoot()
        #expect(abs(deviation / (2.0 / 1296).squareRoot() - 1) < 0.01)
    }

    @Test func deepOBS3c3dPadsAsTensorFlowsSamePooling() throws {
        // 32×32: conv 5 → 28, pad right/below to 29, pool → 14 …; 28×28 needs padding on both sides at the last pooling.
        let cifar = try ZooModel.threeC3DSigmoid.modelFile(imageShape: [3, 32, 32], classes: 10)
        #expect(cifar.components(separatedBy: "\"padding\": [0, 1, 0, 1]").count - 1 == 3)
        let mnist = try ZooModel.threeC3D.modelFile(imageShape: [1, 28, 28], classes: 10)
        #expect(mnist.contains("\"padding\": [1, 1, 1, 1]}, {\"type\": \"MaxPool2d\"") || mnist.contains("\"padding\": [1, 1, 1, 1]},\n  {\"type\": \"MaxPool2d\""))
    }

    @Test func tooSmallImagesAreRefused() {
        #expect(throws: ZooError.self) { try ZooModel.allCNNC.model(imageShape: [3, 4, 4], classes: 10, seed: 0) }
    }
}
